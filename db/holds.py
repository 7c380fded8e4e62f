"""Holds: slots kept for their owner while someone decides, and how a booking meets them.

A hold is taken by db.scheduling.place_hold, which checks each slot as a booking would be;
here are the tables, the one query every booking asks ("is any of these people held by
someone else at that time, now?"), and how a booking claims a hold it was given. The clock
(db.fields.utcnow) is read at every check: an expired hold blocks nothing, whether or not
anything has tidied it away. What keeps the rule under concurrency is that every booking or
hold of a person is serialised with every other of that person in an overlapping hour
(db.connection.lock_people).
"""
from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import datetime

from peewee import (
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    ForeignKeyField,
    TextField,
)

from db.connection import lockable, write_transaction
from db.errors import Conflict, Invalid, NotFound
from db.fields import UTCDateTimeField, iso_utc, utcnow
from db.models import (
    INTERVIEWEE_SIDE,
    INTERVIEWER_SIDE,
    MAX_DURATION,
    BaseModel,
    Interviewee,
    User,
)
from db.prepared import Prepared, id_markers, time_markers

MAX_SLOTS = 5
ACTIVE, USED, RELEASED, EXPIRED = "active", "used", "released", "expired"
Slot = tuple[datetime, datetime, list[int]]  # start, end, interviewer ids (the lead first)


class Hold(BaseModel):
    id = BigAutoField()
    owner = ForeignKeyField(User, column_name="owner_id", lazy_load=False)
    interviewee = ForeignKeyField(Interviewee, column_name="interviewee_id", lazy_load=False)
    slots = TextField()  # JSON, as the API shows it
    status = CharField(max_length=20)
    expires_at = UTCDateTimeField()
    created_at = UTCDateTimeField(default=utcnow)
    scheduling_request_id = BigIntegerField(null=True)  # the request it holds an option of

    def status_now(self, now: datetime) -> str:
        """`expired` once an active hold's time is up (nothing needs to have written it)."""
        return EXPIRED if self.status == ACTIVE and self.expires_at <= now else self.status

    def slot_list(self) -> list[Slot]:
        return [(datetime.fromisoformat(s["start_at"]), datetime.fromisoformat(s["end_at"]),
                 s["interviewer_ids"]) for s in json.loads(self.slots)]


class HoldSeat(BaseModel):
    """One person (interviewee or interviewer) held for one slot, with the hold's expiry."""

    id = BigAutoField()
    hold = ForeignKeyField(Hold, column_name="hold_id", lazy_load=False, on_delete="CASCADE")
    side = CharField(max_length=20)
    person_id = BigIntegerField()
    start_at = UTCDateTimeField()
    end_at = UTCDateTimeField()
    expires_at = UTCDateTimeField()
    active = BooleanField()

    class Meta:
        table_name = "hold_seat"


def shown_slots(slots: Sequence[Slot]) -> str:
    return json.dumps([{"start_at": iso_utc(start), "end_at": iso_utc(end),
                        "interviewer_ids": list(ids)} for start, end, ids in slots])


def write_seats(hold: Hold, slots: Sequence[Slot]) -> None:
    """The hold's seats: the interviewee and every interviewer, for each slot."""
    HoldSeat.insert_many([
        {"hold": hold.id, "side": side, "person_id": person, "start_at": start, "end_at": end,
         "expires_at": hold.expires_at, "active": True}
        for start, end, ids in slots
        for side, person in [(INTERVIEWEE_SIDE, hold.interviewee_id)]
        + [(INTERVIEWER_SIDE, i) for i in ids]]).execute()


def seats_query(people: Sequence[tuple[str, int]], end: datetime, earliest: datetime,
                start: datetime, now: datetime, exclude_hold: int | None = None):
    """Seats (side, person, start, end, expires) of unexpired active holds on these (side,
    person) overlapping [start, end): one bounded range of the (side, person, active, start)
    index per person (`earliest`: a slot lasts at most 8 hours before `start`), one query."""
    who = None
    for side, person in people:
        term = (HoldSeat.side == side) & (HoldSeat.person_id == person)
        who = term if who is None else who | term
    query = HoldSeat.select(HoldSeat.side, HoldSeat.person_id, HoldSeat.start_at,
                            HoldSeat.end_at, HoldSeat.expires_at).where(
        who, HoldSeat.active == True,
        HoldSeat.start_at < end, HoldSeat.start_at > earliest,
        HoldSeat.end_at > start, HoldSeat.expires_at > now)
    if exclude_hold is not None:
        query = query.where(HoldSeat.hold != exclude_hold)
    return query.tuples()


@functools.cache
def seats_compiled(sides: tuple[str, ...], excluding: bool) -> Prepared:
    """seats_query compiled for people of these sides in order, with or without a hold
    left out."""
    count = len(sides)
    ids = id_markers(count + 1)

    def build(*markers):
        return seats_query(list(zip(sides, markers[:count])), *markers[count:count + 4],
                           markers[count + 4] if excluding else None)

    return Prepared(build, *ids[:count], *time_markers(4), *(ids[count:] if excluding else ()))


def seats_near(people: Sequence[tuple[str, int]], start: datetime, end: datetime, now: datetime,
               exclude_hold: int | None = None) -> list[tuple]:
    """seats_query's rows, compiled once per shape, since every booking and hold asks."""
    excluding = exclude_hold is not None
    return seats_compiled(tuple(side for side, _ in people), excluding)(
        *(person for _, person in people), end, start - MAX_DURATION, start, now,
        *((exclude_hold,) if excluding else ()))


def refuse_held(start: datetime, end: datetime, interviewer_ids: Sequence[int],
                interviewee_id: int | None, exclude_hold: int | None = None) -> None:
    """409 `held` when someone else's active hold has one of these people at that time; the
    answer shows when that hold expires and nothing else of it. Call under lock_people."""
    people = [(INTERVIEWER_SIDE, i) for i in interviewer_ids]
    if interviewee_id is not None:
        people.append((INTERVIEWEE_SIDE, interviewee_id))
    found = seats_near(people, start, end, utcnow(), exclude_hold)
    if found:
        expires_at = min(row[4] for row in found)
        raise Conflict(f"the slot is held for another booking until {iso_utc(expires_at)}",
                       code="held", expires_at=iso_utc(expires_at))


def held_times(interviewer_ids: Sequence[int], interviewee_id: int, start: datetime,
               end: datetime) -> tuple[dict[int, list[tuple[datetime, datetime]]],
                                       list[tuple[datetime, datetime]]]:
    """Held intervals overlapping [start, end) now: per interviewer, and of the interviewee
    (what availability and loop search leave out)."""
    people = [(INTERVIEWER_SIDE, i) for i in interviewer_ids] + [(INTERVIEWEE_SIDE,
                                                                    interviewee_id)]
    by_interviewer: dict[int, list] = {i: [] for i in interviewer_ids}
    mine = []
    for side, person, s, e, _ in seats_near(people, start, end, utcnow()):
        (mine if side == INTERVIEWEE_SIDE else by_interviewer[person]).append((s, e))
    return by_interviewer, mine


def owned(caller: User, hold_id: int) -> Hold | None:
    return Hold.get_or_none((Hold.id == hold_id) & (Hold.owner == caller.id))


def show_hold(caller: User, hold_id: int) -> Hold:
    """The hold, to its owner only (404 for anyone else)."""
    hold = owned(caller, hold_id)
    if hold is None:
        raise NotFound(f"no hold {hold_id}")
    return hold


def release_hold(caller: User, hold_id: int) -> None:
    """Let the slots go (active or expired: released; a used hold stays used: 409)."""
    with write_transaction():
        hold = lockable(Hold.select().where((Hold.id == hold_id) & (Hold.owner == caller.id)),
                        Hold).get_or_none()
        if hold is None:
            raise NotFound(f"no hold {hold_id}")
        if hold.status == USED:
            raise Conflict(f"hold {hold_id} was used for a booking; cancel that instead",
                           code="hold_used")
        settle(hold, RELEASED)


def release_earlier(owner_id: int, request_id: int) -> None:
    """Let go of the owner's active holds for this scheduling request (one at a time)."""
    for earlier in Hold.select().where(Hold.owner == owner_id, Hold.status == ACTIVE,
                                       Hold.scheduling_request_id == request_id):
        settle(earlier, RELEASED)


def settle(hold: Hold, status: str) -> None:
    """Mark the hold used or released; its seats stop blocking from this statement."""
    Hold.update(status=status).where(Hold.id == hold.id).execute()
    HoldSeat.update(active=False).where(HoldSeat.hold == hold.id).execute()
    hold.status = status


def claim(caller: User, hold_id: int, interviewee_id: int, slots: Sequence[Slot],
          field: str) -> Hold:
    """Inside a booking's transaction: the caller's hold `hold_id`, locked, still active and
    covering exactly these slots (times, and the same set of interviewers each) of this
    interviewee; the booking then marks it used (`settle`). 422 `hold_mismatch` when it
    covers something else, 409 `hold_expired` when its time is up or it was let go, 409
    `hold_used` when it was used already."""
    hold = lockable(Hold.select().where((Hold.id == hold_id) & (Hold.owner == caller.id)),
                    Hold).get_or_none()
    if hold is None:
        raise Invalid(field, f"no hold {hold_id} of yours")
    status = hold.status_now(utcnow())
    if status == USED:
        raise Conflict(f"hold {hold_id} was used already", code="hold_used")
    if status != ACTIVE:
        raise Conflict(f"hold {hold_id} is {status}: book without it, or hold again",
                       code="hold_expired", expires_at=iso_utc(hold.expires_at))
    wanted = [(s, e, sorted(ids)) for s, e, ids in slots]
    held = [(s, e, sorted(ids)) for s, e, ids in hold.slot_list()]
    if hold.interviewee_id != interviewee_id or sorted(wanted) != sorted(held):
        raise Invalid(field, f"hold {hold_id} covers other times or people than this booking",
                      code="hold_mismatch")
    return hold
