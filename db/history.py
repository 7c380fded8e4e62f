"""History: every change to an interview, who made it, when and what changed, written in
the change's transaction together with its webhook deliveries (the outbox)."""
from __future__ import annotations

import json
from datetime import datetime

from db import outbox
from db.fields import iso_utc
from db.models import Event, Interview, User


def iso_or_value(value: object) -> object:
    return iso_utc(value) if isinstance(value, datetime) else value


def record(interview: Interview, actor: User, action: str, changes: dict[str, tuple],
           reason: str | None = None) -> None:
    """Write one history entry, and its webhook deliveries, inside the caller's transaction."""
    shown = {k: {"from": iso_or_value(a), "to": iso_or_value(b)} for k, (a, b) in changes.items()}
    entry = Event.create(
        interview=interview.id, actor=actor.id, action=action, reason=reason,
        changes=json.dumps(shown),
    )
    outbox.enqueue(interview, entry, shown)


def entries_of(interview: Interview) -> list[Event]:
    """The interview's history, oldest first."""
    return list(Event.select().where(Event.interview == interview.id).order_by(Event.id))
