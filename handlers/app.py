"""The application factory: one place where the spec, the database and the middleware meet."""
from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable
from pathlib import Path

import anyio.to_thread
import yaml
from connexion import AsyncApp
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver

from db import open_database
from db.models import database
from handlers import auth, health, interviews, people, problems
from handlers.idempotency import idempotent
from handlers.middleware import ResponseHeaders
from handlers.settings import Settings
from handlers.validation import RememberingJsonifier, install, validator_map

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
HANDLER_MODULES = (interviews, people)


def with_connection(handler: Callable) -> Callable:
    """Run a handler on a pooled connection (returned afterwards), with the caller loaded.

    Both happen in the handler's worker thread: one thread hop and one checkout a request.
    """

    @functools.wraps(handler)
    def run(*args, **kwargs):
        with database.connection_context():
            if "token_info" in kwargs:
                kwargs["token_info"]["caller"] = auth.load_caller(kwargs["token_info"])
            return handler(*args, **kwargs)

    return run


def resolve(operation_id: str) -> Callable:
    """operationId `showInterview` -> `show_interview` in one of the handler modules."""
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()
    if hasattr(health, name):  # probes manage their own connection: liveness needs none
        return getattr(health, name)
    for module in HANDLER_MODULES:
        if hasattr(module, name):
            return with_connection(idempotent(getattr(module, name)))
    raise LookupError(f"no handler for operationId {operation_id}")


def create_app(settings: Settings | None = None) -> AsyncApp:
    """Build the ASGI app for `settings` (from the environment when not given)."""
    settings = settings or Settings.from_env()
    open_database(settings.database_url, max_connections=settings.threads + 8)
    auth.configure(settings)
    spec = yaml.safe_load(SPEC.read_text())

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        # Sync handlers run in anyio's thread pool; the connection pool is sized to match.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        yield
        database.close_all()

    install()  # Connexion 3.3.0 request-pipeline patches: see handlers/validation.py
    app = AsyncApp(__name__, lifespan=lifespan, jsonifier=RememberingJsonifier())
    app.add_api(
        spec,
        resolver=Resolver(function_resolver=resolve),
        strict_validation=True,
        validate_responses=True,
        validator_map=validator_map(),
        swagger_ui_options=SwaggerUIOptions(
            spec_path="/api/v1/openapi.json", swagger_ui_path="/api/v1/ui"
        ),
    )
    app.add_middleware(ResponseHeaders, position=MiddlewarePosition.BEFORE_EXCEPTION)
    problems.install(app, problems.AllowedMethods(spec["paths"]))
    return app


def asgi() -> AsyncApp:
    """Entry point for `uvicorn --factory`: settings from the environment."""
    return create_app()
