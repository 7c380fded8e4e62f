"""The one module that adapts Connexion; written against Connexion 3.3.0.

tests/test_connexion_glue.py pins the version and checks each adaptation is active and
answers as stock Connexion does.

Validators (through Connexion's public `validator_map`): every body and response is first
checked by a compiled validator (jsonschema-rs) built from the same schema. When it says
"valid", that is the answer; otherwise Connexion's own Draft 4 validator (the oracle) decides
and words the errors. tests/test_validation.py runs the same valid and invalid documents
through both and requires them to agree. Fixes over stock Connexion: a body that is not UTF-8
is a 400 (not a 500), error messages never echo a huge input back, and validators are built
once per operation, not per request.

The request pipeline (`pipeline()`): per-request work that stock Connexion 3.3.0 repeats
although its result never changes for an operation, done once, and a content-type lookup
without the `typing` generics stock builds on every call. Through public seams, app-local:
the bearer handler (`security_map`), subclasses of the validation and Swagger UI middlewares
(`middlewares=[...]`) and of the response decorator. One process-wide rewrite is left,
`AsyncOperation.fn` (PATCHES): it has no seam.
"""
from __future__ import annotations

import contextvars
import functools
import json
import re
import warnings
from collections.abc import Callable
from datetime import datetime
from importlib.metadata import version
from typing import Any
from urllib.parse import parse_qsl

import jsonschema_rs
from connexion import utils as connexion_utils
from connexion.apps.asynchronous import AsyncOperation
from connexion.context import operation
from connexion.context import receive as request_receive
from connexion.context import scope as request_scope
from connexion.datastructures import MediaTypeDict
from connexion.decorators import StarletteDecorator
from connexion.decorators.response import AsyncResponseDecorator
from connexion.exceptions import (
    BadRequestProblem,
    ExtraParameterProblem,
    OAuthResponseProblem,
    ProblemException,
)
from connexion.json_schema import Draft4RequestValidator, Draft4ResponseValidator
from connexion.jsonifier import Jsonifier
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.response_validation import (
    ResponseValidationAPI,
    ResponseValidationMiddleware,
    ResponseValidationOperation,
)
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.security import BearerSecurityHandler
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
from starlette.routing import Mount

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


# What the app's jsonifier last serialised in this request: (the bytes, the object).
SERIALISED: contextvars.ContextVar[tuple[bytes, Any] | None] = contextvars.ContextVar(
    "serialised", default=None)


class RememberingJsonifier(Jsonifier):
    """Connexion's jsonifier (public `AsyncApp(jsonifier=...)`), remembering what it serialised,
    so that response validation need not parse back the JSON it was just given."""

    def dumps(self, data, **kwargs) -> str:
        text = super().dumps(data, **kwargs)
        SERIALISED.set((text.encode(), data))
        return text


class Serialised:
    """A response body that is exactly the serialisation of `data`."""

    def __init__(self, data: Any, raw: bytes) -> None:
        self.data, self.raw = data, raw


class JSONResponse(CompiledFirst, JSONResponseBodyValidator):
    """Checks responses against the spec: compiled first, the stock validator on doubt.

    Stock Connexion parses the body it has just serialised. When the body is byte for byte
    what RememberingJsonifier made of an object, the compiled validator checks that object;
    for the JSON types a handler returns, `loads(dumps(x)) == x`, so the answer is the same.
    Anything else (a refusal, a type JSON has not) is decided as stock: on the parsed body.
    """

    @property
    def validator(self) -> Draft4Validator:  # the oracle, only asked when a response is refused
        return Draft4ResponseValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    def _parse(self, stream) -> Any:
        raw = b"".join(stream)
        remembered = SERIALISED.get()
        if raw and remembered is not None and remembered[0] == raw:
            return Serialised(remembered[1], raw)
        return super()._parse(iter((raw,)))

    def _validate(self, body: Any) -> None:
        if isinstance(body, Serialised):
            try:
                if self._fast.is_valid(body.data):
                    return
            except (ValueError, TypeError):  # jsonschema-rs refuses types JSON does not have
                pass
            body = super()._parse(iter((body.raw,)))
            if body is None and self._nullable:
                return
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


def checks_a_format(schema: dict) -> bool:
    return any(isinstance(s, dict) and s.get("format") in parameter_format_checker.checkers
               for s in (schema, schema.get("items")))


def parameter_passes(param: dict, value: object) -> bool:
    """Whether the compiled validator (jsonschema-rs) finds `value` valid. On the spec's
    parameter schemas it is as strict as the stock one or stricter (ECMA `$` takes no
    trailing newline); schemas with a checked format (date-time: it takes leap seconds the
    stock checker refuses) always go to the stock validator."""
    schema = param.get("schema", param)
    fast = built_once("parameter-compiled", schema,
                      lambda s: None if checks_a_format(s) else compile_schema(s))
    try:
        return fast is not None and fast.is_valid(value)
    except Exception:  # noqa: BLE001 (a value it cannot take, e.g. an integer over 64 bits)
        return False


class Parameters(ParameterValidator):
    """Validates parameters and names the bad one in `errors`."""

    @staticmethod
    def validate_parameter(parameter_type, value, param, param_name=None):
        # Stock Connexion deep-copies the parameter and builds a validator on every request.
        if value is None or (is_nullable(param) and is_null(value)):
            return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        if parameter_passes(param, value):  # compiled first; a refusal goes to the oracle
            return None
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
        query = scope["query_string"].decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            if name in integers and not ASCII_INTEGER.fullmatch(value):
                raise not_ascii_integer(name, value)
class RememberedMediaTypes(MediaTypeDict):
    """A MediaTypeDict that remembers each answer: stock sorts its keys and runs fnmatch per
    lookup. The maps are built once at start-up and never change."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._answers: dict[str, Any] = {}

    def __getitem__(self, item):
        try:
            answer = self._answers[item]
        except KeyError:
            try:
                answer = super().__getitem__(item)
            except KeyError as error:
                answer = error
            self._answers[item] = answer
        if isinstance(answer, KeyError):
            raise answer
        return answer


def validator_map() -> dict:
    """Connexion's validator map with ours for JSON bodies, JSON responses and parameters."""
    body = RememberedMediaTypes({**VALIDATOR_MAP["body"], "*/*json": JSONBody})
    response = RememberedMediaTypes({**VALIDATOR_MAP["response"], "*/*json": JSONResponse})
    return {**VALIDATOR_MAP, "parameter": Parameters, "body": body, "response": response}


# ---- The request pipeline -----------------------------------------------------------------
CONNEXION_VERSION = "3.3.0"


def extract_content_type(headers: list[tuple[bytes, bytes]] | dict[str, str]) -> str | None:
    """Stock `connexion.utils.extract_content_type`, called three times a request (request
    validation, response decorator, response validation), builds `typing` generics on each
    call; the same answer without them. (Bytes names compare as bytes: no Latin-1 letter
    lower-cases into ASCII, so that equals decoding first.)"""
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, value in pairs:
        if (key.lower() == b"content-type" if isinstance(key, bytes)
                else key.lower() == "content-type"):
            return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


class ContentTypeOnce(AsyncResponseDecorator):
    """The response decorator, finding the handler's `Content-Type` with the lookup above."""

    @staticmethod
    def _infer_content_type(data: Any, headers: dict) -> str | None:
        content_type = extract_content_type(headers)
        if content_type and content_type in operation.produces:
            return content_type  # what stock answers too; anything else is decided by stock
        return AsyncResponseDecorator._infer_content_type(data, headers)


class DecoratedOnce(StarletteDecorator):
    """Stock `AsyncOperation.fn` builds a StarletteDecorator on every request, and its wrapper
    then builds a URI parser and decorates the handler again (three `inspect.signature` calls,
    four `functools.wraps`). Both depend only on the operation: here they are built on the
    first request (they read the operation from Connexion's request context) and kept."""

    @property
    def _response_decorator_cls(self) -> type[AsyncResponseDecorator]:
        return ContentTypeOnce

    def __call__(self, function):
        built: list = []

        @functools.wraps(function)
        async def wrapper(*args, **kwargs):
            if not built:
                built.extend((self.uri_parser, self.decorate(function)))
            uri_parser, decorated = built
            request = self.framework.get_request(
                uri_parser=uri_parser, scope=request_scope, receive=request_receive)
            return await decorated(request)

        return wrapper


def decorated_once(self: AsyncOperation):
    """Replaces the `AsyncOperation.fn` property: one decorated handler per operation."""
    fn = self.__dict__.get("_decorated_once")
    if fn is None:
        decorator = DecoratedOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        fn = self.__dict__["_decorated_once"] = decorator(self._fn)
    return fn


# The one process-wide rewrite left: AsyncApp always builds its own AsyncASGIApp, whose API
# makes a stock AsyncOperation per operation, so `fn` has no public seam to replace it by.
PATCHES: dict[str, tuple[Any, str, Any]] = {
    "decorated handler once per operation": (AsyncOperation, "fn", property(decorated_once)),
}
STOCK = {name: owner.__dict__[attr] for name, (owner, attr, _) in PATCHES.items()}


class BearerTokenHandler(BearerSecurityHandler):
    """The bearer scheme (`security_map`), calling the spec's `x-bearerInfoFunc` with the token
    alone: stock inspects its signature twice per request to learn whether it also takes
    `required_scopes` or `request` (ours takes neither). It runs on the event loop."""

    def check_bearer_token(self, token_info_func: Callable[[str], dict | None]):
        async def check(_request, token: str, required_scopes=None) -> dict:
            token_info = token_info_func(token)
            if token_info is None:  # as stock answers a function that returns None
                raise OAuthResponseProblem(detail="Provided token is not valid")
            return token_info

        return check


MAX_ACCEPTED = 64  # media types remembered per operation (a client chooses their spelling)


class MediaTypesOnce:
    """For Connexion's validation operations: the content-type lookup above, and each media
    type found acceptable remembered (stock builds a MediaTypeDict and runs fnmatch per
    request). Refusals, which raise, go to stock every time."""

    _operation: Any
    default_types: str  # "consumes" or "produces": the types assumed without a Content-Type

    def extract_content_type(self, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
        mime_type, encoding = connexion_utils.split_content_type(extract_content_type(headers))
        if mime_type is None:  # as stock: the operation's first type
            types = getattr(self._operation, self.default_types)
            mime_type = types[0] if types else "application/octet-stream"
        return mime_type, encoding or "utf-8"

    def validate_mime_type(self, mime_type: str) -> None:
        accepted = self.__dict__.setdefault("_accepted_mime_types", set())
        if mime_type not in accepted:
            super().validate_mime_type(mime_type)  # type: ignore[misc]
            if len(accepted) < MAX_ACCEPTED:
                accepted.add(mime_type)


class RequestValidation(MediaTypesOnce, RequestValidationOperation):
    default_types = "consumes"


class ResponseValidation(MediaTypesOnce, ResponseValidationOperation):
    default_types = "produces"


class RequestValidationApi(RequestValidationAPI):
    def make_operation(self, operation) -> RequestValidation:
        return RequestValidation(self.next_app, operation=operation,
                                 strict_validation=self.strict_validation,
                                 validator_map=self.validator_map)


class ResponseValidationApi(ResponseValidationAPI):
    def make_operation(self, operation):
        if not self.validate_responses:
            return self.next_app  # as stock
        return ResponseValidation(self.next_app, operation=operation,
                                  validator_map=self.validator_map)


class RequestValidationOnceMiddleware(RequestValidationMiddleware):
    api_cls = RequestValidationApi


class ResponseValidationOnceMiddleware(ResponseValidationMiddleware):
    api_cls = ResponseValidationApi


def ui_routes(router) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The mounts of the Swagger UI router and the literal start of each route under them;
    None when its shape is not the one this was written for (then stock runs)."""
    mounts, starts = [], []
    for mount in router.routes:
        if not isinstance(mount, Mount):
            return None
        mounts.append(mount.path + "/")
        for route in mount.routes:
            path = getattr(route, "path", None)
            if path is None:
                return None
            starts.append(mount.path + path.split("{")[0].rstrip("/"))
    return tuple(mounts), tuple(starts)


class SwaggerUIShortcutMiddleware(SwaggerUIMiddleware):
    """Stock runs a router pass on every request to find the UI and spec routes. A path inside
    a mount that starts with none of those routes' literal parts cannot match one, nor differ
    from one by a trailing slash (stock's redirect): it goes straight to the next app."""

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):
            routes = self.__dict__.get("_ui_routes", False)
            if routes is False:  # the router is complete once the app has started
                routes = self.__dict__["_ui_routes"] = ui_routes(self.router)
            if routes is not None:
                path = scope["path"]
                if path.startswith(routes[0]) and not path.startswith(routes[1]):
                    await self.app(scope, receive, send)
                    return
        await super().__call__(scope, receive, send)


OURS = {  # stock middleware -> the app-local subclass in its place
    SwaggerUIMiddleware: SwaggerUIShortcutMiddleware,
    RequestValidationMiddleware: RequestValidationOnceMiddleware,
    ResponseValidationMiddleware: ResponseValidationOnceMiddleware,
}


def written_for_this_connexion() -> bool:
    """Whether the installed Connexion is the one the pipeline was checked against; warns if
    not (then everything below stays stock: slower but right)."""
    found = version("connexion")
    if found != CONNEXION_VERSION:
        warnings.warn(f"Connexion {found} is not {CONNEXION_VERSION}: request pipeline "
                      "adaptations not applied (see handlers/platform/connexion_glue.py)",
                      stacklevel=3)
        return False
    return True


def install() -> bool:
    """Apply PATCHES to Connexion's classes (idempotent), on Connexion 3.3.0 only."""
    if not written_for_this_connexion():
        return False
    for owner, attr, replacement in PATCHES.values():
        setattr(owner, attr, replacement)
    return True


def pipeline(before_exception: list, before_swagger: list) -> dict[str, Any]:
    """`AsyncApp` arguments for the request pipeline: Connexion's default middleware list with
    our subclasses in place of the stock ones, and ours where `add_middleware(position=...)`
    would put them (positions match the stock classes by identity, so they cannot be used
    with subclasses in the list); the bearer handler. Stock on another Connexion version."""
    adapted = install()
    stack: list = []
    for middleware in ConnexionMiddleware.default_middlewares:
        if middleware is ExceptionMiddleware:
            stack += before_exception
        elif middleware is SwaggerUIMiddleware:
            stack += before_swagger
        stack.append(OURS.get(middleware, middleware) if adapted else middleware)
    return {"middlewares": stack, "security_map": {"bearer": BearerTokenHandler} if adapted else {}}
