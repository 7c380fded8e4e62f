"""The transactions that keep the scheduling rules: no double-booking, legal changes, history."""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from peewee import IntegrityError, OperationalError

from db import outbox
from db.connection import key_shared, lockable, write_transaction
from db.errors import Conflict, Forbidden, Invalid, InvalidTransition, NotFound
from db.fields import iso_utc, utcnow
from db.integrity import is_overlap_violation, is_transient
from db.models import (
    ACTIVE,
    ROLES,
    Event,
    Interview,
    Interviewee,
    User,
    check_location,
    check_storable,
    check_times,
)
from db.prepared import ID_MARKER, OTHER_ID_MARKER, Prepared
from db.schedules import enforce, overriding

T = TypeVar("T")


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


def refuse_overlap(start_at: datetime, end_at: datetime, interviewer_id: int,
                   interviewee_id: int, exclude_id: int | None = None) -> None:
    conflicts = Interview.overlapping(start_at, end_at, interviewer_id, interviewee_id, exclude_id)
    if conflicts:
        raise Conflict(
            f"the slot overlaps active interview(s) {', '.join(map(str, conflicts))} "
            "of the same interviewer or interviewee",
            code="overlap", conflicts=conflicts,
        )


ATTEMPTS = 5


def committed(work: Callable[[], T], recheck: Callable[[], None]) -> T:
    """Run `work` in a write transaction; a refusal by the no-overlap constraint becomes a 409.

    `work` checks overlap itself for a precise answer; the database constraint (trigger or
    EXCLUDE) is what makes the rule hold under any concurrency. When it fires, the winner
    has committed, so `recheck` can name the interviews we collided with. Concurrent
    bookings can also deadlock in PostgreSQL's constraint checks (one waits on the other's
    interviewer, the other on the first's interviewee): the victim is rolled back and runs
    again, and then meets the winner's row like any other loser.
    """
    for _ in range(ATTEMPTS):
        try:
            with write_transaction():
                return work()
        except IntegrityError as error:
            if not is_overlap_violation(error):
                raise
            recheck()
            raise Conflict("the slot was taken by a concurrent booking; try another",
                           code="overlap", conflicts=[]) from None
        except OperationalError as error:
            if not is_transient(error):
                raise
    raise Conflict("too many concurrent changes to the same people; retry", code="contention")


def interviewer_by_id(user_id: int) -> User:
    """The interviewer with this id; in a transaction, a concurrent change of their role
    (db.people.save_user locks the row FOR UPDATE) waits for it to commit, or it for that."""
    query = User.select().where((User.id == user_id) & (User.role == "interviewer"))
    interviewer = key_shared(query).get_or_none()
    if interviewer is None:
        raise Invalid("interviewer_id", f"no interviewer with id {user_id}")
    return interviewer


def book_interview(caller: User, fields: dict) -> Interview:
    """Create an interview for `caller` from the validated request fields."""
    if caller.role == "driver":
        raise Forbidden("drivers may not create interviews")
    if caller.role == "interviewer" and fields["interviewer_id"] != caller.id:
        raise Forbidden("an interviewer may only book interviews for themselves")
    start_at, end_at = fields["start_at"], fields["end_at"]
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
    override = overriding(caller, fields)

    def create() -> Interview:
        interviewer_by_id(interviewer.id)  # again, in the transaction: the role is still theirs
        refuse_overlap(start_at, end_at, interviewer.id, interviewee.id)
        enforce(interviewer.id, start_at, end_at, override=override)
        now = utcnow()
        interview = Interview.create(
            kind=kind, status="pending", start_at=start_at, end_at=end_at, location=location,
            interviewer=interviewer, interviewee=interviewee, version=1,
            created_at=now, updated_at=now,
        )
        record(interview, caller, "create", {
            name: (None, getattr(interview, name))
            for name in ("kind", "status", "start_at", "end_at", "location")
        } | {"interviewer_id": (None, interviewer.id), "interviewee_id": (None, interviewee.id)}
          | overridden(override))
        return interview

    return committed(create, lambda: refuse_overlap(start_at, end_at, interviewer.id, interviewee.id))


VISIBLE_BY_ID = {
    role: Prepared(
        lambda user_id, interview_id, role=role: Interview.visible_to(User(id=user_id, role=role))
        .where(Interview.id == interview_id),
        ID_MARKER, OTHER_ID_MARKER)
    for role in ROLES
}


def visible_interview(caller: User, interview_id: int) -> Interview:
    """The interview if `caller` is on one of its sides; 404 otherwise, never 403."""
    found = VISIBLE_BY_ID[caller.role](caller.id, interview_id)
    if not found:
        raise NotFound(f"no interview {interview_id}")
    return found[0]


Change = Callable[[Interview, str], dict[str, tuple]]
SLOT_FIELDS = {"start_at", "end_at", "interviewer_id"}
TERMINAL = {"decline": "declined", "cancel": "cancelled", "complete": "completed",
            "no_show": "no_show"}
NO_AMENDMENT = {"amend_start_at": None, "amend_end_at": None, "amended_by": None}


def overridden(override: bool) -> dict[str, tuple]:
    """What the history of a change made with `override_schedule` carries."""
    return {"override_schedule": (None, True)} if override else {}


def change_interview(caller: User, interview_id: int, action: str, if_match: frozenset[str] | None,
                     apply: Change, reason: str | None = None,
                     override: bool | Callable[[Interview], bool] = False) -> Interview:
    """Lock the interview, check If-Match and the rules for `action`, apply, record, commit.

    A new slot or interviewer is checked against overlap, then the interviewer's schedule
    (`override`: the coordinator's `override_schedule`, or how to find it)."""
    locked: list[Interview] = []

    def work() -> Interview:
        interview = lockable(Interview.visible_to(caller).where(Interview.id == interview_id),
                             Interview).get_or_none()
        if interview is None:
            raise NotFound(f"no interview {interview_id}")
        locked.append(interview)
        interview.check_if_match(if_match)
        side = interview.side_of(caller)
        interview.require(action, side)
        changes = apply(interview, side)
        if SLOT_FIELDS & changes.keys() and interview.status in ACTIVE:
            refuse_overlap(*slot_of(interview), exclude_id=interview.id)
            overrides = override(interview) if callable(override) else override
            enforce(interview.interviewer_id, interview.start_at, interview.end_at,
                    exclude_id=interview.id, override=overrides)
            changes |= overridden(overrides)
        interview.version += 1
        interview.updated_at = utcnow()
        interview.save()
        record(interview, caller, action, changes, reason)
        return interview

    return committed(work, lambda: refuse_overlap(*slot_of(locked[-1]), exclude_id=interview_id))


def slot_of(interview: Interview) -> tuple[datetime, datetime, int, int]:
    return interview.start_at, interview.end_at, interview.interviewer_id, interview.interviewee_id


def edit_interview(caller: User, interview_id: int, if_match: frozenset[str] | None,
                   fields: dict) -> Interview:
    """PATCH: kind, location, interviewer and (while pending, with no proposal) times."""
    override = overriding(caller, fields)

    def apply(interview: Interview, side: str) -> dict[str, tuple]:
        values: dict[str, object] = {}
        if "start_at" in fields or "end_at" in fields:
            if interview.status != "pending" or interview.amended_by_id is not None:
                raise InvalidTransition(
                    "times change directly only while pending with no open amendment; "
                    "propose an amendment instead", interview.allowed_actions(side))
            values["start_at"] = fields.get("start_at", interview.start_at)
            values["end_at"] = fields.get("end_at", interview.end_at)
            check_times(values["start_at"], values["end_at"])
        for name in ("kind", "location"):
            if name in fields:
                values[name] = fields[name]
        check_location(values.get("kind", interview.kind), values.get("location", interview.location))
        changes = interview.assign(**values)
        new_interviewer = fields.get("interviewer_id", interview.interviewer_id)
        if new_interviewer != interview.interviewer_id:
            if caller.role == "interviewer":
                raise Forbidden("an interviewer may not hand an interview to another interviewer")
            changes["interviewer_id"] = (interview.interviewer_id, new_interviewer)
            interview.interviewer = interviewer_by_id(new_interviewer)
        return changes

    return change_interview(caller, interview_id, "edit", if_match, apply, override=override)


def transition(caller: User, interview_id: int, action: str, if_match: frozenset[str] | None,
               reason: str | None) -> Interview:
    """confirm, decline, cancel, complete or no_show; a terminal one drops any proposal."""
    check_storable("reason", reason)

    def apply(interview: Interview, side: str) -> dict[str, tuple]:
        if action == "confirm":
            return interview.assign(status="confirmed")
        return interview.assign(status=TERMINAL[action], status_reason=reason, **NO_AMENDMENT)

    return change_interview(caller, interview_id, action, if_match, apply, reason)


def propose_amendment(caller: User, interview_id: int, if_match: frozenset[str] | None,
                      fields: dict) -> Interview:
    """Offer a new slot; the current one stays booked until the other side accepts."""
    start_at, end_at = fields["start_at"], fields["end_at"]
    check_times(start_at, end_at, prefix="amendment.")
    override = overriding(caller, fields)

    def apply(interview: Interview, side: str) -> dict[str, tuple]:
        refuse_overlap(start_at, end_at, interview.interviewer_id, interview.interviewee_id,
                       exclude_id=interview.id)
        enforce(interview.interviewer_id, start_at, end_at, exclude_id=interview.id,
                override=override)
        changes = interview.assign(amend_start_at=start_at, amend_end_at=end_at, amended_by=caller.id)
        return changes | overridden(override)

    return change_interview(caller, interview_id, "propose_amendment", if_match, apply)


def accept_amendment(caller: User, interview_id: int, if_match: frozenset[str] | None) -> Interview:
    """Move to the proposed slot and confirm; overlap is re-checked in the same transaction."""

    def apply(interview: Interview, side: str) -> dict[str, tuple]:
        return interview.assign(start_at=interview.amend_start_at, end_at=interview.amend_end_at,
                                status="confirmed", **NO_AMENDMENT)

    return change_interview(caller, interview_id, "accept_amendment", if_match, apply,
                            override=proposal_overrode)


def proposal_overrode(interview: Interview) -> bool:
    """Whether the open proposal being accepted was made with `override_schedule` (the
    coordinator's decision carries over to whoever accepts it)."""
    last = (Event.select(Event.changes)
            .where(Event.interview == interview.id, Event.action == "propose_amendment")
            .order_by(Event.id.desc()).first())
    return last is not None and "override_schedule" in last.changes_dict


def close_amendment(caller: User, interview_id: int, action: str,
                    if_match: frozenset[str] | None) -> Interview:
    """Reject (the other side) or withdraw (the proposer) an open proposal."""
    return change_interview(caller, interview_id, action, if_match,
                            lambda interview, side: interview.assign(**NO_AMENDMENT))


def history(caller: User, interview_id: int) -> list[Event]:
    """Every change to a visible interview, oldest first."""
    interview = visible_interview(caller, interview_id)
    return list(Event.select().where(Event.interview == interview.id).order_by(Event.id))


INSTANT_FILTERS = ("start_from", "start_to", "updated_since")
PAGE_QUERIES: dict[tuple, Prepared] = {}  # the list query compiled once per shape
MAX_PAGE_SHAPES = 1024


def page_of_interviews(caller: User, filters: dict, after: tuple[datetime, int] | None,
                       limit: int) -> tuple[list[Interview], bool]:
    """Up to `limit` visible interviews after the keyset `after`, by (start_at, id); more?

    The query (`interviews_query`) is built and compiled to SQL once per shape: the caller's
    role, which filters (and how many statuses), whether there is a keyset; then re-run with
    this request's values.
    """
    keys = sorted(filters)
    shape = (caller.role, after is not None,
             *((key, len(filters[key]) if key == "status" else 0) for key in keys))
    prepared = PAGE_QUERIES.get(shape)
    if prepared is None:
        if len(PAGE_QUERIES) >= MAX_PAGE_SHAPES:
            PAGE_QUERIES.clear()
        prepared = PAGE_QUERIES[shape] = page_query(caller.role, after is not None,
                                                    {key: filters[key] for key in keys})
    values: list = [caller.id]
    for key in keys:
        values.extend(filters[key] if key == "status" else (filters[key],))
    rows = prepared(*values, *(after or ()), limit + 1)
    return rows[:limit], len(rows) > limit


def page_query(role: str, keyset: bool, filters: dict) -> Prepared:
    """The list query of one shape, with a marker in place of every value (in the order
    `page_of_interviews` passes them: caller, filters by name, keyset, limit)."""
    ints = iter(range(-9_000_000_000_000_100, -9_000_000_000_000_200, -1))
    times = iter(datetime(1000, 1, 1, microsecond=n, tzinfo=UTC) for n in range(100, 200))
    texts = iter(f"\x00page-marker-{n}" for n in range(100))
    caller = User(id=next(ints), role=role)
    markers: list = [caller.id]
    marked: dict = {}
    for key, value in filters.items():
        if key == "status":
            marked[key] = [next(texts) for _ in value]
            markers.extend(marked[key])
            continue
        marked[key] = next(times if key in INSTANT_FILTERS else ints if isinstance(value, int)
                           else texts)
        markers.append(marked[key])
    after = (next(times), next(ints)) if keyset else None
    markers.extend([*(after or ()), next(ints)])
    return Prepared(lambda *m: interviews_query(User(id=m[0], role=role), marked, after)
                    .limit(m[-1]), *markers)


def interviews_query(caller: User, filters: dict, after: tuple[datetime, int] | None):
    """The list query: visible, filtered, after the keyset, in (start_at, id) order."""
    query = Interview.visible_to(caller)
    if filters.get("status"):
        query = query.where(Interview.status.in_(filters["status"]))
    if "kind" in filters:
        query = query.where(Interview.kind == filters["kind"])
    if "interviewer_id" in filters:
        query = query.where(Interview.interviewer == filters["interviewer_id"])
    if "interviewee_id" in filters:
        query = query.where(Interview.interviewee == filters["interviewee_id"])
    if "start_from" in filters:
        query = query.where(Interview.start_at >= filters["start_from"])
    if "start_to" in filters:
        query = query.where(Interview.start_at < filters["start_to"])
    if "updated_since" in filters:
        query = query.where(Interview.updated_at >= filters["updated_since"])
    if after is not None:
        start_at, last_id = after
        query = query.where((Interview.start_at > start_at)
                            | ((Interview.start_at == start_at) & (Interview.id > last_id)))
    return query.order_by(Interview.start_at, Interview.id)
