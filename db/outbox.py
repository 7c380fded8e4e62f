"""The outbox: deliveries written in the transaction of the change, claimed by workers.

`enqueue` runs inside `db.history.record`, so a change that commits has its deliveries
and one that rolls back has none. Workers (any number, in any process or machine) `claim`
due deliveries under a lease: `FOR UPDATE SKIP LOCKED` keeps two PostgreSQL workers off the
same row, SQLite's single writer makes the one UPDATE atomic, and a worker that dies leaves
a lease that runs out, so another sends the delivery again.
"""
from __future__ import annotations

import contextlib
import json
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from peewee import SqliteDatabase, fn

from db.connection import write_transaction
from db.errors import Conflict
from db.events import EVENT_TYPES
from db.fields import iso_utc, utcnow
from db.models import Event, Interview, Interviewee, User, database
from db.prepared import ID_MARKER, Prepared
from db.webhooks import PING, Delivery, Webhook, live_secrets, own_webhook

LEASE = timedelta(seconds=25)  # more than one attempt (10 s timeout) can take; under 30 s
JITTER = 0.1  # each delay is stretched or shrunk by up to 10 %

# How the interview looks on the wire, set by the HTTP layer (db/ does not import handlers/).
present_interview: Callable[[Interview, User], dict] | None = None
_enqueued = threading.local()
_wakers: list[Callable[[], None]] = []


def event_id(history_id: int) -> str:
    """The event's id, shared by every webhook that receives it and by the change feed."""
    return f"evt_{history_id}"


def hooks_seeing(interview_id: int):
    """Enabled webhooks (with their owners) whose owner may see this interview."""
    seen = (Interview.select(Interview.id).join(Interviewee)
            .where(Interview.id == interview_id, Interview.seen_by(User.role, User.id)))
    return (Webhook.select(Webhook, User).join(User, on=Webhook.user)
            .where(Webhook.enabled, fn.EXISTS(seen)))


HOOKS_SEEING = Prepared(hooks_seeing, ID_MARKER, links=((1, "user", 0),))  # every change asks


def enqueue(interview: Interview, entry: Event, changes: dict) -> int:
    """Write a delivery for each enabled webhook that wants this change and whose owner may
    see the interview; each payload is the interview as that owner sees it at this version."""
    event_type = EVENT_TYPES[entry.action]
    now, rows, seen_as = utcnow(), [], {}
    for hook in HOOKS_SEEING(interview.id):
        owner = hook.user
        if not hook.wants(event_type):
            continue
        if owner.id not in seen_as:
            seen_as[owner.id] = present_interview(interview, owner)
        payload = json.dumps({
            "id": event_id(entry.id), "type": event_type, "occurred_at": iso_utc(entry.at),
            "sequence": interview.version,
            "data": {"interview": seen_as[owner.id], "changes": changes,
                     "actor_id": entry.actor_id, "reason": entry.reason},
        }, separators=(",", ":"))
        rows.append({"webhook": hook.id, "event_id": event_id(entry.id), "type": event_type,
                     "payload": payload, "status": "pending", "attempts": 0,
                     "next_attempt_at": now, "created_at": now})
    if rows:
        Delivery.insert_many(rows).execute()
        _enqueued.pending = True
    return len(rows)


def ping(owner: User, webhook_id: int) -> Delivery:
    """A `webhook.ping` delivery to one of the owner's webhooks, due now."""
    with write_transaction():
        webhook = own_webhook(owner, webhook_id)
        if not webhook.enabled:
            raise Conflict("the webhook is disabled; enable it before pinging",
                           code="webhook_disabled")
        now = utcnow()
        message = f"msg_{uuid.uuid4().hex}"
        payload = json.dumps({"id": message, "type": PING, "occurred_at": iso_utc(now),
                              "data": {"webhook_id": webhook.id}}, separators=(",", ":"))
        delivery = Delivery.create(webhook=webhook.id, event_id=message, type=PING, payload=payload,
                                   status="pending", next_attempt_at=now, created_at=now)
    mark_enqueued()
    return delivery


def mark_enqueued() -> None:
    """Note that this thread made a delivery due (woken after its request, see below)."""
    _enqueued.pending = True


def on_enqueue(waker: Callable[[], None]) -> Callable[[], None]:
    """Call `waker` (thread-safe) after a request that wrote deliveries has finished;
    returns what unregisters it."""
    _wakers.append(waker)
    return lambda: _wakers.remove(waker)


def wake_if_enqueued() -> None:
    """Wake the local workers if this thread enqueued something (its transaction is over)."""
    if getattr(_enqueued, "pending", False):
        _enqueued.pending = False
        for waker in _wakers:
            waker()


@dataclass(frozen=True)
class Claimed:
    """One delivery a worker holds under a lease: what to send and where."""

    id: int
    lease: datetime
    attempts: int
    event_id: str
    payload: str
    url: str
    secrets: tuple[str, ...]
    created_at: datetime


@contextlib.contextmanager
def bookkeeping() -> Iterator[None]:
    """A connection for the workers' own writes (claims, outcomes).

    On SQLite these commit without waiting for the disk (synchronous=NORMAL; the change and
    its deliveries are written by the API with FULL): a power loss can only forget a claim,
    whose lease runs out anyway, or an outcome, and then the delivery is sent again, which
    at-least-once allows. It halves the fsyncs a change with webhooks costs.
    """
    with database.connection_context():
        relaxed = isinstance(database.obj, SqliteDatabase)
        if relaxed:
            database.execute_sql("PRAGMA synchronous = NORMAL")
        try:
            yield
        finally:
            if relaxed:
                database.execute_sql("PRAGMA synchronous = FULL")


def _param(value: datetime | None) -> object:
    return Delivery.locked_until.db_value(value)


def any_due(now: datetime) -> bool:
    """Whether some delivery is due and not held: a read, cheap, taking no lock."""
    return (Delivery.select(Delivery.id).join(Webhook)
            .where(Webhook.enabled, Delivery.status == "pending", Delivery.next_attempt_at <= now,
                   Delivery.locked_until.is_null() | (Delivery.locked_until < now))
            .limit(1).exists())


CLAIMED = """SELECT d.id, d.attempts, d.event_id, d.payload, d.created_at, w.url, w.secret,
                     w.previous_secret, w.previous_secret_until
              FROM delivery d JOIN webhook w ON w.id = d.webhook_id
              WHERE d.id IN ({ids}) ORDER BY d.next_attempt_at, d.id"""


def _sql(text: str) -> str:
    """Our SQL (written with %s) in the bound database's placeholder."""
    return text.replace("%s", database.obj.param)


def claim(now: datetime, limit: int = 10) -> list[Claimed]:
    """Take up to `limit` due deliveries of enabled webhooks under a lease until now + LEASE.

    Plain SQL, the same text every time: workers claim after every batch, and building the
    statements with peewee was a sixth of a delivery's CPU."""
    lease = now + LEASE
    skip_locked = "" if isinstance(database.obj, SqliteDatabase) else "FOR UPDATE OF d SKIP LOCKED"
    with database.atomic():
        cursor = database.execute_sql(_sql(
            f"""UPDATE delivery SET locked_until = %s WHERE id IN (
                  SELECT d.id FROM delivery d JOIN webhook w ON w.id = d.webhook_id
                  WHERE d.status = 'pending' AND d.next_attempt_at <= %s AND w.enabled
                    AND (d.locked_until IS NULL OR d.locked_until < %s)
                  ORDER BY d.next_attempt_at LIMIT %s {skip_locked})
                RETURNING id"""), (_param(lease), _param(now), _param(now), limit))
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        rows = database.execute_sql(_sql(CLAIMED.format(ids=", ".join(["%s"] * len(ids)))),
                                    ids).fetchall()
    when = Delivery.created_at.python_value
    return [Claimed(id, lease, attempts, event, payload, url,
                    tuple(live_secrets(secret, previous, when(until), now)), when(created_at))
            for id, attempts, event, payload, created_at, url, secret, previous, until in rows]


def retry_delay(attempts: int, schedule: Sequence[float],
                rand: Callable[[], float] = random.random) -> float | None:
    """Seconds until the next attempt after `attempts` failed ones; None when none is left."""
    if attempts > len(schedule):
        return None
    return schedule[attempts - 1] * (1 - JITTER + 2 * JITTER * rand())


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: an HTTP status, or an error before one arrived."""

    status_code: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# One attempt's outcome, recorded only by the lease holder. Every outcome sets the same
# columns (a delivery still pending has no delivered_at), so the text never changes.
RECORDED = """UPDATE delivery SET attempts = %s, last_status_code = %s, last_error = %s,
                    locked_until = NULL, status = %s, delivered_at = %s, next_attempt_at = %s
                  WHERE id = %s AND locked_until = %s"""


def complete(claimed: Claimed, outcome: Outcome, now: datetime, schedule: Sequence[float],
             rand: Callable[[], float] = random.random) -> str:
    """Record an attempt; returns the delivery's status now. A 410 disables the webhook.

    Only the lease holder records: a worker whose lease ran out (and whose delivery another
    worker took) changes nothing. Runs in the caller's transaction (`settle`'s): no savepoint
    per attempt.
    """
    attempts, status, delivered_at, next_attempt_at = claimed.attempts + 1, "pending", None, None
    if outcome.ok:
        status, delivered_at = "delivered", now
    else:
        delay = None if outcome.status_code == 410 else retry_delay(attempts, schedule, rand)
        if delay is None:
            status = "failed"
        else:
            next_attempt_at = now + timedelta(seconds=delay)
    error = (outcome.error or None) and outcome.error[:500]
    held = database.execute_sql(_sql(RECORDED), (
        attempts, outcome.status_code, error, status, _param(delivered_at),
        _param(next_attempt_at), claimed.id, _param(claimed.lease))).rowcount
    if held and outcome.status_code == 410:
        webhook_id = Delivery.select(Delivery.webhook).where(Delivery.id == claimed.id)
        (Webhook.update(enabled=False, updated_at=now)
         .where(Webhook.id.in_(webhook_id)).execute())
    return status if held else "lost_lease"


def settle(attempted: list[tuple[Claimed, Outcome, datetime]], now: datetime, limit: int,
           schedule: Sequence[float], rand: Callable[[], float] = random.random,
           ) -> tuple[list[tuple[Claimed, str]], list[Claimed]]:
    """Record finished attempts and claim up to `limit` more, in one transaction: one commit
    (one fsync on SQLite) for a whole batch rather than two per delivery. An idle poll only
    reads, so it never takes SQLite's write lock from the API."""
    if not attempted and (limit <= 0 or not any_due(now)):
        return [], []
    with write_transaction():
        statuses = [(claimed, complete(claimed, outcome, at, schedule, rand))
                    for claimed, outcome, at in attempted]
        return statuses, claim(now, limit) if limit > 0 else []
