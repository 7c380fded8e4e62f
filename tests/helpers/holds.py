"""Holds through the API, and a clock tests move instead of waiting."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from db.fields import set_clock, system_clock
from tests.helpers.booking import iso
from tests.helpers.people import People


def hold_body(interviewee_id: int, slots: list[tuple[datetime, datetime, list[int]]],
              ttl_seconds: int | None = None) -> dict:
    fields: dict = {"interviewee_id": interviewee_id, "slots": [
        {"start_at": iso(start), "end_at": iso(end), "interviewer_ids": ids}
        for start, end, ids in slots]}
    if ttl_seconds is not None:
        fields["ttl_seconds"] = ttl_seconds
    return {"hold": fields}


def place(client, people: People, interviewee_id: int, slots, who=None, **fields):
    return client.post("/api/v1/holds", json=hold_body(interviewee_id, slots, **fields),
                       headers=people.auth(who or people.coordinator))


@contextlib.contextmanager
def clock_ahead(by: timedelta) -> Iterator[None]:
    """Run with the service's clock `by` ahead of the system's (in this process)."""
    set_clock(lambda: datetime.now(UTC) + by)
    try:
        yield
    finally:
        set_clock(system_clock)
