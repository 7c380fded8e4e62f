"""Candidate self-scheduling: a coordinator offers times, the interviewee's driver picks one.

A request keeps what a loop search needs (the rounds, the window, the gaps) and what to book
with (kind, location). Its driver reads the options (db.availability.search_loops, others'
holds left out), may hold one (db.scheduling.place_hold, the hold naming the request) and books
it: the interview, or the loop, is booked with the authority of a coordinator, in one
transaction with the request becoming `booked`, so a request books once. `expired` is read
from the clock, never written.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from peewee import (
    BigAutoField,
    CharField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from db import availability
from db.connection import lockable, write_transaction
from db.errors import Conflict, Forbidden, Invalid, NotFound
from db.fields import UTCDateTimeField, iso_utc, utcnow
from db.history import record
from db.holds import Hold, Slot, owned
from db.loops import book_loop
from db.models import BaseModel, Interview, Interviewee, Loop, User, check_location
from db.scheduling import Via, book_interview, place_hold

OPEN, BOOKED, CANCELLED, EXPIRED = "open", "booked", "cancelled", "expired"
MAX_AHEAD = timedelta(days=90)
REFUSALS = {BOOKED: ("already_booked", "was booked already"),
            CANCELLED: ("request_cancelled", "was cancelled by the coordinator"),
            EXPIRED: ("request_expired", "has expired: ask the coordinator for a new one")}


class SchedulingRequest(BaseModel):
    id = BigAutoField()
    interviewee = ForeignKeyField(Interviewee, column_name="interviewee_id", lazy_load=False)
    created_by = ForeignKeyField(User, column_name="created_by_id", lazy_load=False)
    rounds = TextField()  # JSON, as the API shows it
    window_from = UTCDateTimeField()
    window_to = UTCDateTimeField()
    gap_min = IntegerField()
    gap_max = IntegerField()
    step_minutes = IntegerField()
    kind = CharField(max_length=20)
    location = TextField(null=True)
    expires_at = UTCDateTimeField()
    status = CharField(max_length=20)
    interview_ids = TextField(default="[]")
    loop = ForeignKeyField(Loop, column_name="loop_id", null=True, lazy_load=False)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "scheduling_request"

    def status_now(self, now: datetime) -> str:
        """`expired` once an open request's time is up (nothing needs to have written it)."""
        return EXPIRED if self.status == OPEN and self.expires_at <= now else self.status

    def round_list(self) -> list[dict]:
        return json.loads(self.rounds)

    def require_open(self) -> None:
        """409 with the reason a request that is not open can no longer be used."""
        status = self.status_now(utcnow())
        if status != OPEN:
            code, why = REFUSALS[status]
            raise Conflict(f"scheduling request {self.id} {why}", code=code)

    def search_fields(self, limit: int) -> dict:
        return {"interviewee_id": self.interviewee_id, "from": self.window_from,
                "to": self.window_to, "rounds": self.round_list(),
                "gap_minutes": {"min": self.gap_min, "max": self.gap_max},
                "step_minutes": self.step_minutes, "limit": limit}


def create_request(caller: User, fields: dict) -> SchedulingRequest:
    """Coordinators only: the window and people checked as a loop search checks them."""
    if caller.role != "coordinator":
        raise Forbidden("only coordinators may ask a candidate to pick a time")
    start, end = fields["from"], fields["to"]
    rounds = fields["rounds"]
    everyone = list(dict.fromkeys(i for r in rounds for i in r["interviewer_ids"]))
    availability.check_request(caller, fields["interviewee_id"], everyone, start, end)
    gap = fields.get("gap_minutes", {"min": 0, "max": 0})
    if gap["min"] > gap["max"]:
        raise Invalid("scheduling_request.gap_minutes.max", "must not be below min")
    check_location(fields["kind"], fields.get("location"))
    now = utcnow()
    if not now < fields["expires_at"] <= now + MAX_AHEAD:
        raise Invalid("scheduling_request.expires_at", "must be in the future, at most 90 days "
                      "ahead")
    shown = [{"duration_minutes": r["duration_minutes"],
              "interviewer_ids": list(dict.fromkeys(r["interviewer_ids"])),
              "mode": r.get("mode", "any")} for r in rounds]
    return SchedulingRequest.create(
        interviewee=fields["interviewee_id"], created_by=caller.id, rounds=json.dumps(shown),
        window_from=start, window_to=end, gap_min=gap["min"], gap_max=gap["max"],
        step_minutes=fields.get("step_minutes", 15), kind=fields["kind"],
        location=fields.get("location"), expires_at=fields["expires_at"], status=OPEN,
        created_at=now)


def visible_request(caller: User, request_id: int) -> SchedulingRequest:
    """The request, to coordinators and to the driver of its interviewee; 404 otherwise."""
    query = SchedulingRequest.select(SchedulingRequest).where(SchedulingRequest.id == request_id)
    if caller.role == "driver":
        query = query.join(Interviewee).where(Interviewee.driver == caller.id)
    elif caller.role != "coordinator":
        raise NotFound(f"no scheduling request {request_id}")
    found = query.get_or_none()
    if found is None:
        raise NotFound(f"no scheduling request {request_id}")
    return found


def options(caller: User, request_id: int, limit: int) -> list[list[Slot]]:
    """The itineraries bookable now, each round with the people it would be booked with: an
    `any` round's one chosen fairest first, an `all` round's every one."""
    found = visible_request(caller, request_id)
    found.require_open()
    return offered(found, limit)


def offered(found: SchedulingRequest, limit: int) -> list[list[Slot]]:
    modes = [r["mode"] for r in found.round_list()]
    itineraries, _excluded = availability.search_loops(authority(found),
                                                       found.search_fields(limit))
    return [[(start, end, ids if mode == "all" else ids[:1])
             for (start, end, ids), mode in zip(rounds, modes, strict=True)]
            for rounds in itineraries]


def authority(found: SchedulingRequest, actor: User | None = None) -> User:
    """Who books for the request: `actor` (its driver) with a coordinator's rights."""
    return User(id=found.created_by_id if actor is None else actor.id, role="coordinator")


def check_fits(found: SchedulingRequest, slots: list[Slot]) -> None:
    """A hold's slots are an option of the request: one per round, in order, each as long as
    its round, with the round's people (one of an `any` round's, all of an `all` round's),
    nobody in two rounds, inside the window and the gaps. (The rules are place_hold's.)"""
    rounds = found.round_list()
    if len(slots) != len(rounds):
        raise Invalid("hold.slots", f"one slot per round of the request ({len(rounds)})")
    seen: set[int] = set()
    for n, ((start, end, ids), round_) in enumerate(zip(slots, rounds, strict=True)):
        field = f"hold.slots[{n}]"
        if end - start != timedelta(minutes=round_["duration_minutes"]):
            raise Invalid(f"{field}.end_at", f"round {n + 1} lasts "
                          f"{round_['duration_minutes']} minutes")
        pool = round_["interviewer_ids"]
        fits = sorted(ids) == sorted(pool) if round_["mode"] == "all" else (
            len(ids) == 1 and ids[0] in pool)
        if not fits:
            raise Invalid(f"{field}.interviewer_ids", "not the people of this round: "
                          + ("all of " if round_["mode"] == "all" else "one of ")
                          + ", ".join(map(str, pool)))
        if seen & set(ids):
            raise Invalid(f"{field}.interviewer_ids", "an interviewer serves one round only")
        seen |= set(ids)
        if start < found.window_from or end > found.window_to:
            raise Invalid(f"{field}.start_at", "outside the request's window")
        if n:
            gap = start - slots[n - 1][1]
            if not timedelta(minutes=found.gap_min) <= gap <= timedelta(minutes=found.gap_max):
                raise Invalid(f"{field}.start_at", f"{found.gap_min} to {found.gap_max} minutes "
                              "after the round before ends")


def hold_option(caller: User, fields: dict, slots: list[Slot]) -> Hold:
    """Hold an option of a request (`hold.scheduling_request_id`): its driver may. One at a
    time: place_hold lets the caller's earlier hold for this request go in the same
    transaction, so a candidate cannot keep several times from everyone else."""
    request_id = fields["scheduling_request_id"]
    try:
        found = visible_request(caller, request_id)
    except NotFound:
        raise Invalid("hold.scheduling_request_id", f"no scheduling request {request_id} "
                      "of yours") from None
    found.require_open()
    if fields["interviewee_id"] != found.interviewee_id:
        raise Invalid("hold.interviewee_id", f"scheduling request {request_id} is for "
                      f"interviewee {found.interviewee_id}")
    check_fits(found, slots)
    return place_hold(authority(found, caller), fields, slots, request_id=found.id)


def book(caller: User, request_id: int, option: dict) -> SchedulingRequest:
    """Book the option starting at `option.start_at` (over the caller's hold `hold_id`, or as
    offered now), as its coordinator would, and mark the request booked: one transaction."""
    found = visible_request(caller, request_id)
    found.require_open()
    start_at, hold_id = option["start_at"], option.get("hold_id")
    if hold_id is None:
        chosen = next((rounds for rounds in offered(found, 100) if rounds[0][0] == start_at),
                      None)
        if chosen is None:
            raise Conflict(f"no option starting at {iso_utc(start_at)} is free now: pick "
                           "another", code="option_unavailable")
    else:
        hold = owned(caller, hold_id)
        if hold is None or hold.scheduling_request_id != found.id:
            raise Invalid("option.hold_id", f"no hold {hold_id} of yours for this request",
                          code="hold_mismatch")
        chosen = hold.slot_list()
        if chosen[0][0] != start_at:
            raise Invalid("option.start_at", f"hold {hold_id} starts at "
                          f"{iso_utc(chosen[0][0])}", code="hold_mismatch")

    def booked(interviews: list[Interview], loop: Loop | None) -> None:
        row = lockable(SchedulingRequest.select().where(SchedulingRequest.id == found.id),
                       SchedulingRequest).get()
        row.require_open()
        ids = [i.id for i in interviews]
        SchedulingRequest.update(status=BOOKED, interview_ids=json.dumps(ids),
                                 loop=loop and loop.id).where(
            SchedulingRequest.id == found.id).execute()
        record(interviews[0], caller, "book_request",
               {"scheduling_request_id": (None, found.id)}
               | ({"loop_id": (None, loop.id)} if loop else {}))

    via = Via({"scheduling_request_id": (None, found.id)}, booked)
    rounds = [{"start_at": start, "end_at": end, "interviewer_id": ids[0],
               "panel": [{"interviewer_id": i, "role": "panelist"} for i in ids[1:]],
               "kind": found.kind, "location": found.location} for start, end, ids in chosen]
    acting = authority(found, caller)
    if len(rounds) == 1:
        book_interview(acting, {**rounds[0], "interviewee_id": found.interviewee_id,
                                "hold_id": hold_id}, via)
    else:
        book_loop(acting, {"interviewee_id": found.interviewee_id, "hold_id": hold_id,
                           "rounds": rounds}, via)
    return SchedulingRequest.get_by_id(found.id)


def cancel_request(caller: User, request_id: int) -> SchedulingRequest:
    """Coordinators withdraw an open (or expired) request; a booked one stays booked (409)."""
    found = visible_request(caller, request_id)
    if caller.role != "coordinator":
        raise Forbidden("only coordinators may withdraw a scheduling request")
    with write_transaction():
        row = lockable(SchedulingRequest.select().where(SchedulingRequest.id == found.id),
                       SchedulingRequest).get()
        if row.status == BOOKED:
            raise Conflict(f"scheduling request {found.id} was booked: cancel its interviews "
                           "instead", code="already_booked")
        SchedulingRequest.update(status=CANCELLED).where(
            SchedulingRequest.id == found.id).execute()
    return SchedulingRequest.get_by_id(found.id)


def interviewers_of(option_list: list[list[Slot]]) -> dict[int, User]:
    """The people shown in these options: their names and pictures, one query."""
    ids = {i for rounds in option_list for _, _, people in rounds for i in people}
    return {u.id: u for u in User.select(User.id, User.title, User.image)
            .where(User.id.in_(list(ids)))} if ids else {}
