"""Metric objects (Prometheus, correct across worker processes) and the few functions that
count into them. Imports nothing of ours, so anything may count (problems, delivery, the
request middleware) without an import cycle.

`interviews serve` points PROMETHEUS_MULTIPROC_DIR at a fresh directory before the workers
start (handlers/cli), so every worker writes its samples there and any worker's `/metrics`
adds them all up. Without it (tests, a bare `uvicorn`), one process counts alone.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REFUSED_STATUSES = (409, 422)

REQUESTS = Counter("interviews_requests", "Requests answered, by operationId and status",
                   ["operation_id", "status"])
LATENCY = Histogram("interviews_request_duration_seconds",
                    "Time from the request's arrival to its answer, by operationId",
                    ["operation_id"],
                    buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
BOOKINGS = Counter("interviews_bookings", "Interviews created (replayed answers not counted)")
REFUSALS = Counter("interviews_refusals", "Requests refused with 409 or 422, by problem code",
                   ["code"])
DB_CONNECTIONS_IN_USE = Gauge("interviews_db_connections_in_use",
                              "Pooled database connections checked out by handlers",
                              multiprocess_mode="livesum")
DB_CONNECTIONS_MAX = Gauge("interviews_db_connections_max",
                           "Pool capacity (summed over live workers)",
                           multiprocess_mode="livesum")
# Hooks for webhook delivery (filled in by the notifications worker).
WEBHOOK_DELIVERIES = Counter("interviews_webhook_deliveries",
                             "Webhook delivery attempts, by outcome", ["outcome"])
WEBHOOK_DELIVERY_LAG = Histogram("interviews_webhook_delivery_lag_seconds",
                                 "From the event to its successful delivery",
                                 buckets=(.1, .5, 1, 5, 15, 60, 300, 900, 3600))


def count_delivery(outcome: str, lag_seconds: float) -> None:
    """A webhook delivery attempt's outcome; for a delivered one, its lag from the change."""
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    if outcome == "delivered":
        WEBHOOK_DELIVERY_LAG.observe(lag_seconds)


def worker_stopped() -> None:
    """Drop this worker's live gauges from the sums (its counters stay counted)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())


def refused(status: int, code: str) -> None:
    """Count a 409/422 problem by its code; called where problems are rendered."""
    if status in REFUSED_STATUSES:
        REFUSALS.labels(code).inc()


def exposition() -> bytes:
    """Every worker's samples, in the Prometheus text format."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


@contextmanager
def connection_in_use() -> Iterator[None]:
    DB_CONNECTIONS_IN_USE.inc()
    try:
        yield
    finally:
        DB_CONNECTIONS_IN_USE.dec()
