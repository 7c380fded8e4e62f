"""The transactions that keep the scheduling rules: no double-booking, legal changes, panel
answers. (What each change records: db/history.py; list pages: db/listing.py.)"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from peewee import IntegrityError, OperationalError

from db.connection import key_shared, lock_people, lockable, write_transaction
from db.errors import Conflict, DomainError, Forbidden, Invalid, InvalidTransition, NotFound
from db.fields import utcnow
from db.history import entries_of, record
from db.holds import (
    MAX_SLOTS,
    Hold,
    Slot,
    claim,
    refuse_held,
    release_earlier,
    settle,
    shown_slots,
    write_seats,
)
from db.integrity import is_overlap_violation, is_transient
from db.models import (
    ACTIVE,
    DECLINED,
    INTERVIEWEE_SIDE,
    MAX_DURATION,
    ROLES,
    WITH_PEOPLE,
    Event,
    Interview,
    Interviewee,
    InterviewMember,
    Loop,
    User,
    attach_members,
    check_location,
    check_storable,
    check_times,
    overlap_query,
)
from db.panels import (
    Seat,
    checked_panel,
    clear_panel,
    new_seats,
    panel_of,
    require_interviewers,
    responses_of,
    seats,
    shown,
    write_panel,
)
from db.prepared import ID_MARKER, OTHER_ID_MARKER, Prepared
from db.schedules import enforce, overriding

T = TypeVar("T")


def refuse_overlap(start_at: datetime, end_at: datetime, interviewer_ids: Sequence[int],
                   interviewee_id: int | None = None, exclude_id: int | None = None) -> None:
    """The no-double-booking rule, checked for a precise answer (the database is what makes
    it hold): the interviewee with the first interviewer (the lead, as before panels), then
    each other interviewer in order. A refusal names the interviewer (`interviewer_id`) who
    is busy, with the interviews (`conflicts`) in the way."""
    busy = InterviewMember.overlapping(list(interviewer_ids), start_at, end_at, exclude_id)
    rest = list(interviewer_ids)
    if interviewee_id is not None:
        lead = rest.pop(0) if rest else None
        rows = overlap_query(INTERVIEWEE_SIDE)(interviewee_id, end_at, start_at - MAX_DURATION,
                                               start_at, 0 if exclude_id is None else exclude_id)
        conflicts = sorted({row.id for row in rows} | set(busy.get(lead, [])))
        if conflicts:
            raise Conflict(
                f"the slot overlaps active interview(s) {', '.join(map(str, conflicts))} "
                "of the same interviewer or interviewee", code="overlap", conflicts=conflicts,
                **({"interviewer_id": lead} if lead in busy else {}))
    for interviewer_id in rest:
        if interviewer_id in busy:
            conflicts = busy[interviewer_id]
            raise Conflict(
                f"interviewer {interviewer_id} has active interview(s) "
                f"{', '.join(map(str, conflicts))} overlapping the slot", code="overlap",
                conflicts=conflicts, interviewer_id=interviewer_id)


def held_to_rules(start_at: datetime, end_at: datetime, members: list[Seat],
                  interviewee_id: int | None, exclude_id: int | None, override: bool,
                  checked: list, exclude_hold: int | None = None) -> None:
    """Every booking rule for these seats at [start, end): overlap (the interviewee too,
    unless None), someone else's hold, then each member's schedule. The people are locked
    first (db.connection.lock_people: holds and bookings of one person at overlapping
    hours take turns).
    `checked` keeps the overlap check's arguments, for naming the winner should the
    database refuse a concurrent loser; `exclude_hold` is the hold this booking consumes."""
    ids = [interviewer_id for interviewer_id, _ in members]
    lock_people(ids, [] if interviewee_id is None else [interviewee_id], start_at, end_at)
    checked.append((start_at, end_at, ids, interviewee_id, exclude_id))
    refuse_overlap(start_at, end_at, ids, interviewee_id, exclude_id)
    refuse_held(start_at, end_at, ids, interviewee_id, exclude_hold)
    enforce(members, start_at, end_at, exclude_id=exclude_id, override=override)


ATTEMPTS = 5


def committed(work: Callable[[], T], checked: list) -> T:
    """Run `work` in a write transaction; a refusal by the no-overlap constraint becomes a 409.

    `work` checks overlap itself for a precise answer (`held_to_rules`, which notes what it
    checked in `checked`); the database constraints (triggers or EXCLUDE) are what make the
    rule hold under any concurrency. When one fires, the winner has committed, so the same
    check again names the interviews we collided with. Concurrent bookings can also deadlock
    in PostgreSQL's constraint checks (one waits on the other's interviewer, the other on the
    first's interviewee): the victim is rolled back and runs again, and then meets the
    winner's row like any other loser.
    """
    for _ in range(ATTEMPTS):
        checked.clear()
        try:
            with write_transaction():
                return work()
        except IntegrityError as error:
            if not is_overlap_violation(error):
                raise
            if checked:
                refuse_overlap(*checked[-1])
            raise Conflict("the slot was taken by a concurrent booking; try another",
                           code="overlap", conflicts=[]) from None
        except OperationalError as error:
            if not is_transient(error):
                raise
    raise Conflict("too many concurrent changes to the same people; retry", code="contention")


def interviewer_query(user_id: int):
    return key_shared(User.select().where((User.id == user_id) & (User.role == "interviewer")))


INTERVIEWER_BY_ID = Prepared(interviewer_query, ID_MARKER, links=())  # twice a booking


def interviewer_by_id(user_id: int) -> User:
    """The interviewer with this id; in a transaction, a concurrent change of their role
    (db.people.save_user locks the row FOR UPDATE) waits for it to commit, or it for that."""
    found = INTERVIEWER_BY_ID(user_id)
    if not found:
        raise Invalid("interviewer_id", f"no interviewer with id {user_id}")
    return found[0]


@dataclass(frozen=True)
class Via:
    """A booking made for something else (a scheduling request): what each create's history
    also carries, and what runs in the booking's transaction once the interviews exist."""

    changes: dict[str, tuple]
    then: Callable[[list[Interview], Loop | None], None]


def book_interview(caller: User, fields: dict, via: Via | None = None) -> Interview:
    """Create an interview for `caller` from the validated request fields: the lead
    (`interviewer_id`) and a panel, every one of them held to every booking rule."""
    if caller.role == "driver":
        raise Forbidden("drivers may not create interviews")
    if caller.role == "interviewer" and fields["interviewer_id"] != caller.id:
        raise Forbidden("an interviewer may only book interviews for themselves")
    start_at, end_at = fields["start_at"], fields["end_at"]
    check_times(start_at, end_at)
    kind, location = fields["kind"], fields.get("location")
    check_location(kind, location)
    interviewer = interviewer_by_id(fields["interviewer_id"])
    panel = checked_panel(interviewer.id, fields.get("panel", []))
    require_interviewers(panel)
    interviewee = (
        Interviewee.select(Interviewee, User).join(User)
        .where(Interviewee.id == fields["interviewee_id"]).get_or_none()
    )
    if interviewee is None:
        raise Invalid("interviewee_id", f"no interviewee with id {fields['interviewee_id']}")
    override = overriding(caller, fields)
    checked: list = []
    hold_id = fields.get("hold_id")

    def create() -> Interview:
        interviewer_by_id(interviewer.id)  # again, in the transaction: the roles are still theirs
        require_interviewers(panel)
        hold = None if hold_id is None else claim(
            caller, hold_id, interviewee.id,
            [(start_at, end_at, [interviewer.id, *(i for i, _ in panel)])], "interview.hold_id")
        held_to_rules(start_at, end_at, seats(interviewer.id, panel, {}), interviewee.id, None,
                      override, checked, hold and hold.id)
        if hold is not None:
            settle(hold, "used")
        now = utcnow()
        interview = Interview.create(  # the database adds the lead's member row
            kind=kind, status="pending", start_at=start_at, end_at=end_at, location=location,
            interviewer=interviewer, interviewee=interviewee, version=1,
            created_at=now, updated_at=now,
        )
        write_panel(interview, panel, {})
        attach_members([interview])
        record(interview, caller, "create", {
            name: (None, getattr(interview, name))
            for name in ("kind", "status", "start_at", "end_at", "location")
        } | {"interviewer_id": (None, interviewer.id), "interviewee_id": (None, interviewee.id)}
          | ({"panel": (None, shown(panel))} if panel else {}) | overridden(override)
          | (via.changes if via else {}))
        if via is not None:
            via.then([interview], None)
        return interview

    return committed(create, checked)


def place_hold(caller: User, fields: dict, slots: list[Slot],
               request_id: int | None = None) -> Hold:
    """Hold these slots of an interviewee for `caller` (whoever may book them), each checked
    as a booking of that interviewee with all of its interviewers would be (the first as
    lead), and against other holds: all of them or none. A refusal names the slot."""
    if caller.role == "driver":
        raise Forbidden("drivers may not hold slots")
    if not 1 <= len(slots) <= MAX_SLOTS:
        raise Invalid("hold.slots", f"1 to {MAX_SLOTS} slots")
    for n, (start_at, end_at, ids) in enumerate(slots):
        field = f"hold.slots[{n}]"
        check_times(start_at, end_at, prefix=f"{field}.")
        if len(set(ids)) != len(ids):
            raise Invalid(f"{field}.interviewer_ids", "each interviewer once")
        if caller.role == "interviewer" and ids[0] != caller.id:
            raise Forbidden("an interviewer may only hold slots they lead (first in "
                            "interviewer_ids)")
        found = {u.id for u in User.select(User.id).where(User.id.in_(ids),
                                                           User.role == "interviewer")}
        for m, interviewer_id in enumerate(ids):
            if interviewer_id not in found:
                raise Invalid(f"{field}.interviewer_ids[{m}]",
                              f"no interviewer with id {interviewer_id}")
        for m, (other_start, other_end, _) in enumerate(slots[:n]):
            if other_start < end_at and start_at < other_end:
                raise Invalid(field, f"overlaps slots[{m}]: the interviewee is in every slot")
    interviewee = Interviewee.get_or_none(Interviewee.id == fields["interviewee_id"])
    if interviewee is None:
        raise Invalid("hold.interviewee_id", f"no interviewee with id {fields['interviewee_id']}")
    checked: list = []

    def take() -> Hold:
        if request_id is not None:  # one hold a request: the earlier goes if this one holds
            release_earlier(caller.id, request_id)
        for n, (start_at, end_at, ids) in enumerate(slots):
            with naming(f"hold.slots[{n}]"):
                require_interviewers([(i, "panelist") for i in ids])
                held_to_rules(start_at, end_at, [(i, True) for i in ids], interviewee.id, None,
                              False, checked)
        now = utcnow()
        hold = Hold.create(owner=caller.id, interviewee=interviewee.id, slots=shown_slots(slots),
                           status="active", created_at=now, scheduling_request_id=request_id,
                           expires_at=now + timedelta(seconds=fields.get("ttl_seconds", 300)))
        write_seats(hold, slots)
        return hold

    return committed(take, checked)


@contextmanager
def naming(field: str) -> Iterator[None]:
    """A refusal raised inside names `field` (the slot or round it is about) in `errors`."""
    try:
        yield
    except DomainError as error:
        if "errors" not in error.extra:
            error.extra["errors"] = [{"field": field, "message": error.detail}]
        else:
            error.extra["errors"] = [{**e, "field": f"{field}.{e['field']}"}
                                     for e in error.extra["errors"]]
        raise


VISIBLE_BY_ID = {
    role: Prepared(
        lambda user_id, interview_id, role=role: Interview.visible_to(User(id=user_id, role=role))
        .where(Interview.id == interview_id),
        ID_MARKER, OTHER_ID_MARKER, links=WITH_PEOPLE)
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
                     override: bool | Callable[[Interview], bool] = False,
                     checked: list | None = None) -> Interview:
    """Lock the interview, check If-Match and the rules for `action`, apply, record, commit.

    A new slot or lead is checked for every seat (the lead and each member who has not
    declined), a replaced panel for the seats it adds: overlap, then each one's schedule
    (`override`: the coordinator's `override_schedule`, or how to find it). A new panel is
    written around the interview's own row: the old panel's rows go first (a member may
    become the lead), the new ones after (the old lead may join the panel). `checked` is
    where `apply` notes checks of its own (see `committed`)."""
    checked = [] if checked is None else checked

    def work() -> Interview:
        interview = lockable(Interview.visible_to(caller).where(Interview.id == interview_id),
                             Interview).get_or_none()
        if interview is None:
            raise NotFound(f"no interview {interview_id}")
        interview.check_if_match(if_match)
        side = interview.side_of(caller)
        interview.require(action, side, caller.id)
        responses = responses_of(interview)
        changes = apply(interview, side)
        panel = [(m["interviewer_id"], m["role"]) for m in changes["panel"][1]] \
            if "panel" in changes else panel_of(interview)
        moved = bool(SLOT_FIELDS & changes.keys())
        checking = seats(interview.interviewer_id, panel, responses) if moved else \
            new_seats(panel_of(interview), panel, responses) if "panel" in changes else []
        if checking and interview.status in ACTIVE:
            overrides = override(interview) if callable(override) else override
            held_to_rules(interview.start_at, interview.end_at, checking,
                          interview.interviewee_id if moved else None, interview.id, overrides,
                          checked)
            changes |= overridden(overrides)
        if "panel" in changes:
            clear_panel(interview.id)
        interview.version += 1
        interview.updated_at = utcnow()
        interview.save()
        if "panel" in changes:
            write_panel(interview, panel, responses)
        interview.forget_members()
        attach_members([interview])
        record(interview, caller, action, changes, reason)
        return interview

    return committed(work, checked)


def edit_interview(caller: User, interview_id: int, if_match: frozenset[str] | None,
                   fields: dict) -> Interview:
    """PATCH: kind, location, the lead, the panel and (while pending, with no proposal) times."""
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
        check_location(values.get("kind", interview.kind),
                       values.get("location", interview.location))
        changes = interview.assign(**values)
        new_interviewer = fields.get("interviewer_id", interview.interviewer_id)
        if new_interviewer != interview.interviewer_id:
            if caller.role == "interviewer":
                raise Forbidden("an interviewer may not hand an interview to another interviewer")
            changes["interviewer_id"] = (interview.interviewer_id, new_interviewer)
            interview.interviewer = interviewer_by_id(new_interviewer)
        old = panel_of(interview)
        if "panel" in fields:
            panel = checked_panel(new_interviewer, fields["panel"])
            require_interviewers(panel)
            if panel != old:
                changes["panel"] = (shown(old), shown(panel))
        elif any(i == new_interviewer for i, _ in old):
            raise Invalid("interviewer_id", f"interviewer {new_interviewer} is on the panel: "
                          "send the panel without them to make them the lead")
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
    """Offer a new slot; the current one stays booked until the other side accepts. The new
    slot is checked for every seat now, and again when accepted."""
    start_at, end_at = fields["start_at"], fields["end_at"]
    check_times(start_at, end_at, prefix="amendment.")
    override = overriding(caller, fields)

    def apply(interview: Interview, side: str) -> dict[str, tuple]:
        members = seats(interview.interviewer_id, panel_of(interview), responses_of(interview))
        held_to_rules(start_at, end_at, members, interview.interviewee_id, interview.id,
                      override, [])
        changes = interview.assign(amend_start_at=start_at, amend_end_at=end_at,
                                   amended_by=caller.id)
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


def respond(caller: User, interview_id: int, if_match: frozenset[str] | None, answer: str,
            reason: str | None) -> Interview:
    """A panel member answers for themselves: accepted, tentative or declined.

    A decline frees their seat in the same statement (the database no longer counts it); an
    answer after a decline takes the seat again and is checked as a booking of them is."""

    def apply(interview: Interview, side: str) -> dict[str, tuple]:
        member = next(m for m in interview.members if m.interviewer_id == caller.id)
        if member.response == DECLINED and answer != DECLINED:
            held_to_rules(interview.start_at, interview.end_at,
                          [(caller.id, member.counts)], None, interview.id, False, checked)
        InterviewMember.update(response=answer).where(InterviewMember.id == member.id).execute()
        return {"response": (member.response, answer)} if member.response != answer else {}

    checked: list = []
    return change_interview(caller, interview_id, "respond", if_match, apply, reason,
                            checked=checked)


def history(caller: User, interview_id: int) -> list[Event]:
    """Every change to a visible interview, oldest first."""
    return entries_of(visible_interview(caller, interview_id))
