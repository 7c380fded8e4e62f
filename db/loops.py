"""Loops: several interviews of one interviewee, booked together in one transaction (all of
them or none), each round then living its own life as an interview with `loop_id`."""
from __future__ import annotations

from db.connection import write_transaction
from db.errors import DomainError, Forbidden, Invalid, NotFound
from db.fields import utcnow
from db.history import record
from db.holds import claim, settle
from db.models import (
    ACTIVE,
    Interview,
    Interviewee,
    Loop,
    User,
    attach_members,
    check_location,
    check_times,
)
from db.panels import checked_panel, require_interviewers, seats, shown, write_panel
from db.scheduling import (
    Via,
    committed,
    held_to_rules,
    interviewer_by_id,
    naming,
    transition,
    visible_interview,
)

MAX_ROUNDS = 5


def checked_rounds(caller: User, rounds: list[dict]) -> list[tuple[dict, list]]:
    """Each round with its panel, checked before any transaction: times, kind and location,
    in order without overlapping (the interviewee is in every round), and no interviewer in
    two rounds. A refusal names the round (`rounds[1]`)."""
    if not 1 <= len(rounds) <= MAX_ROUNDS:
        raise Invalid("rounds", f"1 to {MAX_ROUNDS} rounds")
    found, seen = [], {}
    for n, fields in enumerate(rounds):
        with naming(f"rounds[{n}]"):
            if caller.role == "interviewer" and fields["interviewer_id"] != caller.id:
                raise Forbidden("an interviewer may only book interviews for themselves")
            check_times(fields["start_at"], fields["end_at"])
            check_location(fields["kind"], fields.get("location"))
            panel = checked_panel(fields["interviewer_id"], fields.get("panel", []))
            if n and fields["start_at"] < rounds[n - 1]["end_at"]:
                raise Invalid("start_at", "a round starts after the one before it ends")
            for person in [fields["interviewer_id"], *(i for i, _ in panel)]:
                if person in seen:
                    raise Invalid("interviewer_id", f"interviewer {person} is already in "
                                  f"rounds[{seen[person]}]: one round each")
                seen[person] = n
        found.append((fields, panel))
    return found


def book_loop(caller: User, fields: dict, via: Via | None = None
              ) -> tuple[Loop, list[Interview]]:
    """Book every round as an interview of the loop, in one transaction: every round is held
    to every booking rule (and to the hold, when `hold_id` names one covering exactly the
    rounds); the first refusal undoes them all and names its round."""
    if caller.role == "driver":
        raise Forbidden("drivers may not create loops")
    rounds = checked_rounds(caller, fields["rounds"])
    interviewee = Interviewee.get_or_none(Interviewee.id == fields["interviewee_id"])
    if interviewee is None:
        raise Invalid("interviewee_id", f"no interviewee with id {fields['interviewee_id']}")
    hold_id = fields.get("hold_id")
    checked: list = []

    def book() -> tuple[Loop, list[Interview]]:
        hold = None if hold_id is None else claim(
            caller, hold_id, interviewee.id,
            [(r["start_at"], r["end_at"], [r["interviewer_id"], *(i for i, _ in panel)])
             for r, panel in rounds], "loop.hold_id")
        now = utcnow()
        loop = Loop.create(interviewee=interviewee.id, created_by=caller.id, status="active",
                           created_at=now)
        booked = []
        for n, (round_, panel) in enumerate(rounds):
            with naming(f"rounds[{n}]"):
                booked.append(book_round(caller, loop, interviewee, round_, panel,
                                         hold and hold.id, checked, via))
        if hold is not None:
            settle(hold, "used")
        attach_members(booked)
        if via is not None:
            via.then(booked, loop)
        return loop, booked

    try:
        return committed(book, checked)
    except DomainError as error:
        if "errors" not in error.extra and checked:  # the database refused the last round
            error.extra["errors"] = [{"field": f"rounds[{len(checked) - 1}]",
                                      "message": error.detail}]
        raise


def book_round(caller: User, loop: Loop, interviewee: Interviewee, fields: dict, panel: list,
               hold_id: int | None, checked: list, via: Via | None = None) -> Interview:
    interviewer = interviewer_by_id(fields["interviewer_id"])
    require_interviewers(panel)
    start_at, end_at = fields["start_at"], fields["end_at"]
    held_to_rules(start_at, end_at, seats(interviewer.id, panel, {}), interviewee.id, None,
                  False, checked, hold_id)
    now = utcnow()
    interview = Interview.create(
        kind=fields["kind"], status="pending", start_at=start_at, end_at=end_at,
        location=fields.get("location"), interviewer=interviewer, interviewee=interviewee,
        version=1, created_at=now, updated_at=now, loop=loop.id)
    write_panel(interview, panel, {})
    attach_members([interview])
    record(interview, caller, "create", {
        name: (None, getattr(interview, name))
        for name in ("kind", "status", "start_at", "end_at", "location")
    } | {"interviewer_id": (None, interviewer.id), "interviewee_id": (None, interviewee.id),
         "loop_id": (None, loop.id)} | ({"panel": (None, shown(panel))} if panel else {})
      | (via.changes if via else {}))
    return interview


def rounds_of(loop_id: int) -> list[int]:
    return [row.id for row in Interview.select(Interview.id).where(Interview.loop == loop_id)
            .order_by(Interview.start_at, Interview.id)]


def show_loop(caller: User, loop_id: int) -> tuple[Loop, list[Interview]]:
    """The loop and its rounds, to anyone who may see one of its rounds (404 otherwise)."""
    loop = Loop.get_or_none(Loop.id == loop_id)
    visible = []
    for interview_id in rounds_of(loop_id) if loop else []:
        try:
            visible.append(visible_interview(caller, interview_id))
        except NotFound:
            continue
    if not visible:
        raise NotFound(f"no loop {loop_id}")
    return loop, visible


def cancel_loop(caller: User, loop_id: int, reason: str | None) -> tuple[Loop, list[Interview]]:
    """Cancel every active round, in one transaction (each as its own cancel would be)."""
    _, rounds = show_loop(caller, loop_id)
    with write_transaction():
        for row in rounds:
            if row.status in ACTIVE:
                transition(caller, row.id, "cancel", None, reason)
        Loop.update(status="cancelled").where(Loop.id == loop_id).execute()
    return show_loop(caller, loop_id)
