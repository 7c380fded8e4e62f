"""Panels: who interviews beside the lead, in which role, and who of them is held to the rules.

An interview's interviewers are rows of `interview_member` (db.models.InterviewMember): the
lead's row is written and moved by the database's triggers with the interview itself; the
panel's rows are written here, in the transaction of the change. Every member who has not
declined holds a seat: the booking rules apply to it (db.scheduling checks them), and the
database refuses two active seats of one interviewer that overlap (migration 0008).
"""
from __future__ import annotations

from collections.abc import Sequence

from db.connection import key_shared
from db.errors import Invalid
from db.models import DECLINED, LEAD, SHADOW, Interview, InterviewMember, User

MAX_PANEL = 9
NEEDS_ACTION = "needs_action"
Panel = list[tuple[int, str]]  # (interviewer id, role) in the order given
Seat = tuple[int, bool]  # (interviewer id, counts toward limits)


def checked_panel(lead_id: int, panel: Sequence[dict]) -> Panel:
    """The panel of a request as (interviewer id, role): distinct people, none the lead."""
    if len(panel) > MAX_PANEL:
        raise Invalid("panel", f"at most {MAX_PANEL} interviewers beside the lead")
    found: Panel = []
    for n, member in enumerate(panel):
        interviewer_id = member["interviewer_id"]
        if interviewer_id == lead_id:
            raise Invalid(f"panel[{n}].interviewer_id",
                          "the lead (interviewer_id) is not also on the panel")
        if any(interviewer_id == other for other, _ in found):
            raise Invalid(f"panel[{n}].interviewer_id",
                          f"interviewer {interviewer_id} is on the panel once only")
        found.append((interviewer_id, member["role"]))
    return found


def require_interviewers(panel: Panel) -> None:
    """Each member must be a user with role interviewer (422 naming the first who is not).
    In a transaction their rows are held FOR KEY SHARE: a change of role waits for it."""
    if not panel:
        return
    ids = [interviewer_id for interviewer_id, _ in panel]
    found = {user.id for user in key_shared(
        User.select(User.id).where(User.id.in_(ids), User.role == "interviewer"))}
    for n, interviewer_id in enumerate(ids):
        if interviewer_id not in found:
            raise Invalid(f"panel[{n}].interviewer_id", f"no interviewer with id {interviewer_id}")


def shown(panel: Panel) -> list[dict]:
    """A panel as the history shows it."""
    return [{"interviewer_id": interviewer_id, "role": role} for interviewer_id, role in panel]


def panel_of(interview: Interview) -> Panel:
    """The interview's panel now (without the lead)."""
    return [(m.interviewer_id, m.role) for m in interview.members if m.role != LEAD]


def responses_of(interview: Interview) -> dict[int, str]:
    """The panel's answers now (a lead who joins the panel answers afresh)."""
    return {m.interviewer_id: m.response for m in interview.members if m.role != LEAD}


def seats(lead_id: int, panel: Panel, responses: dict[int, str]) -> list[Seat]:
    """Who is held to the rules: the lead, then each member who has not declined."""
    return [(lead_id, True)] + [(i, role != SHADOW) for i, role in panel
                                if responses.get(i, NEEDS_ACTION) != DECLINED]


def new_seats(old: Panel, new: Panel, responses: dict[int, str]) -> list[Seat]:
    """The seats a replaced panel adds: new members, and members who now count toward
    limits (a shadow made a panelist); those kept as they were were checked before."""
    before = dict(old)
    return [(i, role != SHADOW) for i, role in new
            if responses.get(i, NEEDS_ACTION) != DECLINED
            and (i not in before or (before[i] == SHADOW and role != SHADOW))]


def clear_panel(interview_id: int) -> None:
    """Remove the panel's rows (the lead's stays): their seats are free from this statement."""
    InterviewMember.delete().where(InterviewMember.interview == interview_id,
                                   InterviewMember.role != LEAD).execute()


def write_panel(interview: Interview, panel: Panel, responses: dict[int, str]) -> None:
    """Insert the panel's rows in order (after the lead's, with the interview's slot and
    status as they are now), each keeping the answer it had. A seat that overlaps another
    active one of that interviewer is refused by the database."""
    if not panel:
        return
    InterviewMember.insert_many([
        {"interview": interview.id, "interviewer": interviewer_id, "role": role,
         "response": responses.get(interviewer_id, NEEDS_ACTION), "position": n,
         "status": interview.status, "start_at": interview.start_at, "end_at": interview.end_at}
        for n, (interviewer_id, role) in enumerate(panel, start=1)]).execute()
