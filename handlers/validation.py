"""Connexion validators: compiled for speed, reporting what was wrong where.

Every body and response is first checked by a compiled validator (jsonschema-rs) built from
the same schema. When it says "valid", that is the answer; otherwise Connexion's own Draft 4
validator (the oracle) decides and words the errors. tests/test_validation.py runs the same
valid and invalid documents through both and requires them to agree.

Fixes over stock Connexion: a body that is not UTF-8 is a 400 (not a 500), error messages
never echo a huge input back, and validators are built once per operation, not per request.
"""
from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import jsonschema_rs
from connexion.exceptions import BadRequestProblem, ExtraParameterProblem, ProblemException
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    VALIDATOR_MAP,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    ParameterValidator,
)
from connexion.validators.parameter import draft4_format_checker
from jsonschema import Draft4Validator, FormatChecker
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


MAX_DEPTH = 64
JSON_TOKEN = re.compile(rb'[\[\]{}"\\]')
ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def too_deep(raw: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether arrays and objects nest deeper than `limit`, found before `json.loads` recurses
    (RecursionError near 1,000 levels). One linear pass; brackets inside strings do not count."""
    if raw.count(b"[") + raw.count(b"{") <= limit:  # the common case, in C
        return False
    depth, in_string, skip = 0, False, -1
    for match in JSON_TOKEN.finditer(raw):
        at = match.start()
        if at == skip:  # the character after a backslash
            continue
        token = raw[at]
        if in_string:
            if token == 0x5C:  # backslash
                skip = at + 1
            elif token == 0x22:  # quote
                in_string = False
        elif token == 0x22:
            in_string = True
        elif token in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif token in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


def has_lone_surrogate(body: Any) -> bool:
    """JSON's `\\ud800` escapes parse to strings UTF-8 cannot hold (nor the database)."""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


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


SUBSCHEMA = ("items", "additionalProperties", "not")
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
SUBSCHEMA_MAPS = ("properties", "patternProperties")


def json_schema(schema: Any) -> Any:
    """An OpenAPI 3.0 schema as plain JSON Schema: `nullable: true` admits null."""
    if not isinstance(schema, dict):
        return schema
    plain = dict(schema)
    for key in SUBSCHEMA:
        if isinstance(plain.get(key), dict):
            plain[key] = json_schema(plain[key])
    for key in SUBSCHEMA_LISTS:
        if key in plain:
            plain[key] = [json_schema(s) for s in plain[key]]
    for key in SUBSCHEMA_MAPS:
        if key in plain:
            plain[key] = {name: json_schema(s) for name, s in plain[key].items()}
    if plain.pop("nullable", False):
        if "type" in plain:
            types = plain["type"] if isinstance(plain["type"], list) else [plain["type"]]
            plain["type"] = [*types, "null"]
        if "enum" in plain:
            plain["enum"] = [*plain["enum"], None]
    return plain


_built: dict[tuple[int, str], tuple[dict, Any]] = {}


def built_once(kind: str, schema: dict, build) -> Any:
    """`build(schema)`, made once per schema dict and kept.

    Connexion makes a validator object per request; the schema dicts live as long as the app.
    """
    entry = _built.get((id(schema), kind))
    if entry is None or entry[0] is not schema:
        entry = _built[(id(schema), kind)] = (schema, build(schema))
    return entry[1]


def compile_schema(schema: dict):
    # Connexion resolves $refs but also attaches the spec's `components`: not a schema.
    own = {key: value for key, value in schema.items() if key != "components"}
    return jsonschema_rs.Draft4Validator(json_schema(own), validate_formats=True)


def compiled(schema: dict):
    """jsonschema-rs for `schema`, formats checked too."""
    return built_once("compiled", schema, compile_schema)


class CompiledFirst:
    """Ask the compiled validator first; only a refusal goes to the stock one (the oracle)."""

    _schema: dict

    @property
    def _fast(self):
        return compiled(self._schema)


class JSONBody(CompiledFirst, JSONRequestBodyValidator):
    """Validates a JSON body and lists every schema error with its field path."""

    @property
    def _validator(self) -> Draft4Validator:  # the oracle, only asked when a body is refused
        return Draft4RequestValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    async def _parse(self, stream, scope) -> Any:
        raw = b"".join([message async for message in stream])
        if not raw:
            return NO_BODY
        if too_deep(raw):
            raise invalid(f"the body is not valid JSON: nested deeper than {MAX_DEPTH} levels",
                          "malformed_json")
        try:
            body = json.loads(raw.decode("utf-8"))  # UTF-8 only (RFC 8259), never guessed
        except ValueError as error:  # includes UnicodeDecodeError for non-UTF-8 bytes
            raise invalid(f"the body is not valid JSON: {error}", "malformed_json") from None
        if ESCAPED_SURROGATE.search(raw) and has_lone_surrogate(body):
            raise invalid("the body is not valid JSON: a string holds a lone UTF-16 surrogate "
                          "(\\ud800-\\udfff not in a pair)", "malformed_json")
        return body

    def _validate(self, body: Any) -> None:
        if body is NO_BODY:
            if self._required:
                raise invalid("the request body must not be empty", "invalid_body")
            return
        if self._fast.is_valid(body):
            return
        errors = field_errors(list(self._validator.iter_errors(body)))
        if errors:
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            raise invalid(detail, "invalid_body", errors)


class JSONResponse(CompiledFirst, JSONResponseBodyValidator):
    """Checks responses against the spec: compiled first, the stock validator on doubt."""

    @property
    def validator(self) -> Draft4Validator:  # the oracle, only asked when a response is refused
        return Draft4ResponseValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    def _validate(self, body: dict) -> None:
        if not self._fast.is_valid(body):
            super()._validate(body)


# What OpenAPI Generator's clients send for a `date-time` query parameter by default
# (`%Y-%m-%dT%H:%M:%S.%f%z`): no colon in the offset. Accepted in parameters, never in bodies.
GENERATOR_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?[+-][0-9]{4}")
parameter_format_checker = FormatChecker()
parameter_format_checker.checkers = dict(draft4_format_checker.checkers)


@parameter_format_checker.checks("date-time")
def parameter_date_time(value: object) -> bool:
    """RFC 3339, or the generator's form with a `+hhmm` offset (a real date and offset)."""
    if not isinstance(value, str) or draft4_format_checker.conforms(value, "date-time"):
        return True
    if not GENERATOR_INSTANT.fullmatch(value):
        return False
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.utcoffset() is not None and abs(parsed.utcoffset().total_seconds()) < 86400


def parameter_validator(param: dict) -> Draft4Validator:
    """The stock parameter validator (same schema), built once; see `parameter_date_time`."""
    return built_once("parameter", param, lambda p: Draft4Validator(
        p.get("schema", p), format_checker=parameter_format_checker))


class Parameters(ParameterValidator):
    """Validates parameters and names the bad one in `errors`."""

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        # Stock Connexion deep-copies the parameter and builds a validator on every request.
        if value is None or (is_nullable(param) and is_null(value)):
            return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        error = next(iter(parameter_validator(param).iter_errors(value)), None)
        return None if error is None else f"{param['name']}: {shorten(error.message)}"

    def validate_request(self, request) -> None:
        ascii_integers(self.parameters, request.scope)
        try:
            super().validate_request(request)
        except ExtraParameterProblem as problem:
            raise invalid(str(problem.detail), "invalid_parameter") from None
        except BadRequestProblem as problem:
            field, _, message = str(problem.detail).partition(": ")
            raise invalid(str(problem.detail), "invalid_parameter",
                          [{"field": field, "message": message}]) from None


ASCII_INTEGER = re.compile(r"-?[0-9]{1,30}")
SIGNED_SEGMENT = re.compile(r"/(\+[0-9]+)(?:/|$)")  # Connexion's integer route takes "+1" as 1


def is_integer(param: dict) -> bool:
    schema = param.get("schema", param)
    return schema.get("type") == "integer" or (
        schema.get("type") == "array" and schema.get("items", {}).get("type") == "integer")


def not_ascii_integer(name: str, value: str) -> ProblemException:
    return invalid(f"{name}: {shorten(repr(value))} is not a whole number in ASCII digits",
                   "invalid_parameter", [{"field": name, "message": "must be ASCII digits"}])


def ascii_integers(parameters: dict, scope: dict) -> None:
    """Integers in the path and query as plain ASCII digits, before Connexion's `int()` takes
    "+1", " 1", "1_0", "１" or "١٠١٥" for numbers."""
    path_ids = [p for p in parameters.get("path", ()) if is_integer(p)]
    if path_ids and (signed := SIGNED_SEGMENT.search(scope.get("path", ""))):
        raise not_ascii_integer(path_ids[0]["name"], signed.group(1))
    integers = {p["name"] for p in parameters.get("query", ()) if is_integer(p)}
    if integers and scope.get("query_string"):
        for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
            if name in integers and not ASCII_INTEGER.fullmatch(value):
                raise not_ascii_integer(name, value)


def validator_map() -> dict:
    """Connexion's validator map with ours for JSON bodies, JSON responses and parameters."""
    body = type(VALIDATOR_MAP["body"])({**VALIDATOR_MAP["body"], "*/*json": JSONBody})
    response = type(VALIDATOR_MAP["response"])({**VALIDATOR_MAP["response"], "*/*json": JSONResponse})
    return {**VALIDATOR_MAP, "parameter": Parameters, "body": body, "response": response}
