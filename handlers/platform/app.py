"""The application factory: one place where the spec, the database and the middleware meet."""
from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import importlib
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import anyio.to_thread
import yaml
from connexion import AsyncApp
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver

from db import outbox
from db.connection import open_database
from db.models import database
from handlers.outbound import delivery, ssrf
from handlers.platform import auth, metrics, observability, problems
from handlers.platform.booking_page import BookingPageMiddleware
from handlers.platform.connexion_glue import RememberingJsonifier, pipeline, validator_map
from handlers.platform.cors import CorsMiddleware, allowed_origins
from handlers.platform.headers import ResponseHeadersMiddleware
from handlers.platform.idempotency import idempotent
from handlers.platform.limits import RequestLimitsMiddleware
from handlers.platform.openapi_document import OpenAPIDocumentMiddleware
from handlers.platform.ratelimit import RateLimitMiddleware
from handlers.platform.settings import Settings, process_settings
from handlers.wire import present

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
# The operations: one module per resource under handlers/operations/, found by name (as
# Connexion's own resolver does), so the platform never imports them.
OPERATIONS = "handlers.operations"
RESOURCES = ("interviews", "people", "schedules", "feed", "calendars", "webhooks", "holds",
             "loops", "scheduling_requests")
PROBES = "health"  # manage their own connection: liveness needs none
delivery.on_attempt(metrics.count_delivery)


def with_connection(handler: Callable) -> Callable:
    """Run a handler on a pooled connection (returned afterwards), with the caller loaded.

    Both happen in the handler's worker thread: one thread hop and one checkout a request.
    """

    @functools.wraps(handler)
    def run(*args, **kwargs):
        try:
            with database.connection_context(), metrics.connection_in_use():
                if "token_info" in kwargs:
                    kwargs["token_info"]["caller"] = auth.load_caller(kwargs["token_info"])
                return handler(*args, **kwargs)
        finally:
            outbox.wake_if_enqueued()  # every transaction of the request is over by now

    return run


def operation_name(operation_id: str) -> str:
    """operationId `showInterview` -> `show_interview`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def operation(operation_id: str) -> tuple[str, Callable]:
    """The module and function an operationId names: a public function defined in one of
    the operations modules (a name imported there does not count); LookupError otherwise."""
    name = operation_name(operation_id)
    for module_name in (PROBES, *RESOURCES):
        module = importlib.import_module(f"{OPERATIONS}.{module_name}")
        function = getattr(module, name, None)
        if callable(function) and function.__module__ == module.__name__:
            return module_name, function
    raise LookupError(f"no operation function for operationId {operation_id}")


def resolve(operation_id: str) -> Callable:
    """The function Connexion calls for an operationId: the operation on a pooled connection,
    with idempotent retries (probes as they are)."""
    module_name, function = operation(operation_id)
    if module_name == PROBES:
        return function
    return with_connection(idempotent(function))


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
    """Build the ASGI app for `settings` (the process's, from the environment, when not given)."""
    settings = settings or process_settings()
    observability.configure_logging(settings.log_level,
                                    development=settings.env == "development")
    open_database(settings.database_url, max_connections=settings.threads + 8)
    auth.configure(settings)
    ssrf.configure(settings)
    outbox.present_interview = present.interview
    spec = yaml.safe_load(SPEC.read_text())

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        # Sync handlers run in anyio's thread pool; the connection pool is sized to match.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        metrics.DB_CONNECTIONS_MAX.set(settings.threads + 8)
        gc.freeze()  # what start-up built lives as long as the worker: no collection scans it
        async with delivering(settings):
            yield
        database.close_all()
        metrics.worker_stopped()

    # Outermost to innermost: ResponseHeadersMiddleware (security headers and request id on
    # everything, preflights included), ObserveMiddleware (metrics, the request log line,
    # /metrics), then CORS, which answers preflights before the rate limiter, auth and routing
    # see them. Anything that may refuse a request (e.g. a rate limiter) goes after CORS. All
    # of them sit outside Connexion's ExceptionMiddleware, so they see every response.
    production = settings.env == "production"
    before_exception = [
        ResponseHeadersMiddleware,
        partial(observability.ObserveMiddleware, production=production,
                metrics_token=settings.metrics_token),
        BookingPageMiddleware,
        partial(CorsMiddleware, origins=allowed_origins(settings.cors_origins, production)),
        *([partial(RateLimitMiddleware, settings=settings)] if settings.rate_limit != "off"
          else []),
        partial(RequestLimitsMiddleware, settings=settings),
    ]
    app = AsyncApp(__name__, lifespan=lifespan, jsonifier=RememberingJsonifier(),
                   **pipeline(before_exception, [partial(OpenAPIDocumentMiddleware, spec=spec)]))
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
    problems.install(app, problems.AllowedMethods(spec["paths"]))
    return app


def asgi() -> AsyncApp:
    """Entry point for `uvicorn --factory`: the process's settings, from the environment."""
    return create_app(process_settings())
