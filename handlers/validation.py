"""Connexion validators that report what was wrong where, as problem+json `errors`.

They keep Connexion's checks (the same Draft 4 schemas and format checker) and change
only the reporting, plus two holes fuzzing found: a body that is not UTF-8, and
messages that echo a huge input back.
"""
from __future__ import annotations

import json
import re
from functools import cached_property
from typing import Any

from connexion.exceptions import BadRequestProblem, ExtraParameterProblem, ProblemException
from connexion.json_schema import Draft4RequestValidator
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

NO_BODY = object()  # an empty body, as opposed to a JSON `null`
MAX_ERRORS = 20
MAX_MESSAGE = 300
REQUIRED = re.compile(r"^'(.+)' is a required property$")


def invalid(detail: str, code: str, errors: list[dict[str, str]] | None = None) -> ProblemException:
    ext: dict[str, Any] = {"code": code}
    if errors:
        ext["errors"] = errors
    return ProblemException(status=400, title="Bad Request", detail=detail[:2000], ext=ext)


def shorten(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def field_of(error: ValidationError) -> str:
    """Dotted path of the offending value; for a missing property, the property's own path."""
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and (missing := REQUIRED.match(error.message)):
        path.append(missing.group(1))
    return ".".join(path) or "body"


def field_errors(errors: list[ValidationError]) -> list[dict[str, str]]:
    return [
        {"field": field_of(e), "message": shorten(e.message)}
        for e in sorted(errors, key=field_of)[:MAX_ERRORS]
    ]


class JSONBody(JSONRequestBodyValidator):
    """Validates a JSON body and lists every schema error with its field path."""

    @cached_property
    def _validator(self) -> Draft4Validator:  # built once per operation, not per request
        return Draft4RequestValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    async def _parse(self, stream, scope) -> Any:
        raw = b"".join([message async for message in stream])
        if not raw:
            return NO_BODY
        try:
            return json.loads(raw)
        except ValueError as error:  # includes UnicodeDecodeError for non-UTF-8 bytes
            raise invalid(f"the body is not valid JSON: {error}", "malformed_json") from None

    def _validate(self, body: Any) -> None:
        if body is NO_BODY:
            if self._required:
                raise invalid("the request body must not be empty", "invalid_body")
            return
        errors = field_errors(list(self._validator.iter_errors(body)))
        if errors:
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            raise invalid(detail, "invalid_body", errors)


class Parameters(ParameterValidator):
    """Validates parameters and names the bad one in `errors`."""

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        error = ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        if error is None:
            return None
        first_line = error.splitlines()[0]
        return f"{param['name']}: {shorten(first_line)}"

    def validate_request(self, request) -> None:
        try:
            super().validate_request(request)
        except ExtraParameterProblem as problem:
            raise invalid(str(problem.detail), "invalid_parameter") from None
        except BadRequestProblem as problem:
            field, _, message = str(problem.detail).partition(": ")
            raise invalid(str(problem.detail), "invalid_parameter",
                          [{"field": field, "message": message}]) from None


def validator_map() -> dict:
    """Connexion's validator map with ours in place of the JSON body and parameter ones."""
    body = dict(VALIDATOR_MAP["body"])
    body["*/*json"] = JSONBody
    return {**VALIDATOR_MAP, "parameter": Parameters, "body": type(VALIDATOR_MAP["body"])(body)}
