"""The transactions that keep the scheduling rules: no double-booking, legal changes, history."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from peewee import IntegrityError

from db import is_overlap_violation, write_transaction
from db.errors import Conflict, Forbidden, Invalid, NotFound
from db.fields import iso_utc, utcnow
from db.models import Event, Interview, Interviewee, User, check_location, check_times

T = TypeVar("T")


def parse_instant(value: str, field: str) -> datetime:
    """An RFC 3339 timestamp with an offset, as UTC truncated to milliseconds."""
    try:
        parsed = datetime.fromisoformat(value.upper())
        if parsed.tzinfo is None:
            raise Invalid(field, "the timestamp must carry an offset (e.g. Z or +01:00)")
        parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Invalid(field, "not a valid RFC 3339 timestamp") from None
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def iso_or_value(value: object) -> object:
    return iso_utc(value) if isinstance(value, datetime) else value


def record(interview: Interview, actor: User, action: str, changes: dict[str, tuple],
           reason: str | None = None) -> None:
    """Write one history entry, inside the caller's transaction."""
    Event.create(
        interview=interview.id, actor=actor.id, action=action, reason=reason,
        changes=json.dumps({k: {"from": iso_or_value(a), "to": iso_or_value(b)} for k, (a, b) in changes.items()}),
    )


def refuse_overlap(start_at: datetime, end_at: datetime, interviewer_id: int,
                   interviewee_id: int, exclude_id: int | None = None) -> None:
    conflicts = Interview.overlapping(start_at, end_at, interviewer_id, interviewee_id, exclude_id)
    if conflicts:
        raise Conflict(
            f"the slot overlaps active interview(s) {', '.join(map(str, conflicts))} "
            "of the same interviewer or interviewee",
            code="overlap", conflicts=conflicts,
        )


def booking(work: Callable[[], T], start_at: datetime, end_at: datetime, interviewer_id: int,
            interviewee_id: int, exclude_id: int | None = None) -> T:
    """Run `work` in a write transaction after checking the slot is free.

    The check gives a precise 409; the database constraint (trigger or EXCLUDE) is what
    makes it true under any concurrency, and its refusal becomes the same 409.
    """
    try:
        with write_transaction():
            refuse_overlap(start_at, end_at, interviewer_id, interviewee_id, exclude_id)
            return work()
    except IntegrityError as error:
        if not is_overlap_violation(error):
            raise
    refuse_overlap(start_at, end_at, interviewer_id, interviewee_id, exclude_id)
    raise Conflict("the slot was taken by a concurrent booking; try another", code="overlap",
                   conflicts=[])


def interviewer_by_id(user_id: int, field: str = "interviewer_id") -> User:
    interviewer = User.get_or_none((User.id == user_id) & (User.role == "interviewer"))
    if interviewer is None:
        raise Invalid(field, f"no interviewer with id {user_id}")
    return interviewer


def book_interview(caller: User, fields: dict) -> Interview:
    """Create an interview for `caller` from the validated request fields."""
    if caller.role == "driver":
        raise Forbidden("drivers may not create interviews")
    if caller.role == "interviewer" and fields["interviewer_id"] != caller.id:
        raise Forbidden("an interviewer may only book interviews for themselves")
    start_at = parse_instant(fields["start_at"], "start_at")
    end_at = parse_instant(fields["end_at"], "end_at")
    check_times(start_at, end_at)
    kind, location = fields["kind"], fields.get("location")
    check_location(kind, location)
    interviewer = interviewer_by_id(fields["interviewer_id"])
    interviewee = (
        Interviewee.select(Interviewee, User).join(User)
        .where(Interviewee.id == fields["interviewee_id"]).get_or_none()
    )
    if interviewee is None:
        raise Invalid("interviewee_id", f"no interviewee with id {fields['interviewee_id']}")

    def create() -> Interview:
        now = utcnow()
        interview = Interview.create(
            kind=kind, status="pending", start_at=start_at, end_at=end_at, location=location,
            interviewer=interviewer, interviewee=interviewee, version=1,
            created_at=now, updated_at=now,
        )
        record(interview, caller, "create", {
            name: (None, getattr(interview, name))
            for name in ("kind", "status", "start_at", "end_at", "location")
        } | {"interviewer_id": (None, interviewer.id), "interviewee_id": (None, interviewee.id)})
        return interview

    return booking(create, start_at, end_at, interviewer.id, interviewee.id)


def visible_interview(caller: User, interview_id: int) -> Interview:
    """The interview if `caller` is on one of its sides; 404 otherwise, never 403."""
    interview = Interview.visible_to(caller).where(Interview.id == interview_id).get_or_none()
    if interview is None:
        raise NotFound(f"no interview {interview_id}")
    return interview
