"""The application factory: one place where the spec, the database and the middleware meet."""
from __future__ import annotations

import handlers.quiet  # noqa: F401 (first: before anything imports Connexion)

# isort: split
import asyncio
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

from db import open_database, outbox
from db.models import database
from handlers import (
    auth,
    calendars,
    delivery,
    feed,
    health,
    interviews,
    observability,
    people,
    present,
    problems,
    schedules,
    webhooks,
)
from handlers.cors import Cors, allowed_origins
from handlers.idempotency import idempotent
from handlers.limits import RequestLimits
from handlers.middleware import ResponseHeaders
from handlers.openapi_document import OpenAPIDocument
from handlers.ratelimit import RateLimit
from handlers.settings import Settings
from handlers.validation import RememberingJsonifier, install, validator_map

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
HANDLER_MODULES = (interviews, people, schedules, feed, calendars, webhooks)
delivery.on_attempt(observability.count_delivery)


def with_connection(handler: Callable) -> Callable:
    """Run a handler on a pooled connection (returned afterwards), with the caller loaded.

    Both happen in the handler's worker thread: one thread hop and one checkout a request.
    """

    @functools.wraps(handler)
    def run(*args, **kwargs):
        try:
            with database.connection_context(), observability.connection_in_use():
                if "token_info" in kwargs:
                    kwargs["token_info"]["caller"] = auth.load_caller(kwargs["token_info"])
                return handler(*args, **kwargs)
        finally:
            outbox.wake_if_enqueued()  # every transaction of the request is over by now

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


@contextlib.asynccontextmanager
async def delivering(settings: Settings):
    """A webhook delivery worker beside the API in this process, when enabled."""
    if not settings.webhook_delivery:
        yield
        return
    deliverer = delivery.deliverer_for(settings)
    forget = outbox.on_enqueue(deliverer.wake)
    stop = asyncio.Event()
    task = asyncio.create_task(deliverer.run(stop))
    try:
        yield
    finally:
        forget()
        stop.set()
        deliverer.wake()
        await asyncio.wait({task}, timeout=delivery.TIMEOUT + 5)


def create_app(settings: Settings | None = None) -> AsyncApp:
    """Build the ASGI app for `settings` (from the environment when not given)."""
    settings = settings or Settings.from_env()
    observability.configure_logging(settings.log_level)
    open_database(settings.database_url, max_connections=settings.threads + 8)
    auth.configure(settings)
    webhooks.configure(settings)
    outbox.present_interview = present.interview
    spec = yaml.safe_load(SPEC.read_text())

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        # Sync handlers run in anyio's thread pool; the connection pool is sized to match.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        observability.DB_CONNECTIONS_MAX.set(settings.threads + 8)
        async with delivering(settings):
            yield
        database.close_all()
        observability.worker_stopped()

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
    # Outermost to innermost in the order added: ResponseHeaders (security headers and request
    # id on everything, preflights included), Observe (metrics, the request log line, /metrics),
    # then CORS, which answers preflights before the rate limiter, auth and routing see them.
    # Anything that may refuse a request (e.g. a rate limiter) goes after CORS.
    production = settings.env == "production"
    app.add_middleware(observability.Observe, position=MiddlewarePosition.BEFORE_EXCEPTION,
                       production=production, metrics_token=settings.metrics_token)
    app.add_middleware(Cors, position=MiddlewarePosition.BEFORE_EXCEPTION,
                       origins=allowed_origins(settings.cors_origins, production))
    # Each added one sits inside the ones before: limits see requests after ResponseHeaders.
    if settings.rate_limit != "off":
        app.add_middleware(RateLimit, position=MiddlewarePosition.BEFORE_EXCEPTION,
                           settings=settings)
    app.add_middleware(RequestLimits, position=MiddlewarePosition.BEFORE_EXCEPTION,
                       settings=settings)
    app.add_middleware(OpenAPIDocument, position=MiddlewarePosition.BEFORE_SWAGGER, spec=spec)
    problems.install(app, problems.AllowedMethods(spec["paths"]))
    return app


def asgi() -> AsyncApp:
    """Entry point for `uvicorn --factory`: settings from the environment."""
    return create_app()
