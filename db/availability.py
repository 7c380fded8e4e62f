"""Free slots: who may ask, and the few bounded queries that feed `db.slots.offer`."""
from __future__ import annotations

from datetime import datetime, timedelta

from db.errors import Forbidden, Invalid
from db.fields import utcnow
from db.models import ACTIVE, MAX_DURATION, Interview, Interviewee, User, check_era
from db.schedules import Schedule, bookings_of, time_off_of
from db.slots import Calendar, Rules, candidates, offer

MAX_WINDOW = timedelta(days=31)
# Bookings that can matter to a candidate: a buffer (4 h) or a local day (26 h at most)
# away, plus the longest interview (8 h).
MARGIN = timedelta(days=2)
DEFAULT_RULES = Rules()


def availability(caller: User, interviewee_id: int, interviewer_ids: list[int], start: datetime,
                 end: datetime, duration_minutes: int, step_minutes: int, limit: int):
    """Slots in [start, end] a create would accept now, and what each rule excluded."""
    if end <= start:
        raise Invalid("to", "must be after from")
    if end - start > MAX_WINDOW:
        raise Invalid("to", "at most 31 days after from")
    check_era(start, end, "from")
    interviewer_ids = list(dict.fromkeys(interviewer_ids))
    if caller.role == "interviewer" and interviewer_ids != [caller.id]:
        raise Forbidden("an interviewer may only ask about their own availability")
    interviewee = Interviewee.get_or_none(Interviewee.id == interviewee_id)
    if interviewee is None:
        raise Invalid("interviewee_id", f"no interviewee with id {interviewee_id}")
    if caller.role == "driver" and interviewee.driver_id != caller.id:
        raise Forbidden("a driver may only ask about their own interviewees")
    found = {u.id for u in User.select(User.id).where(User.id.in_(interviewer_ids),
                                                       User.role == "interviewer")}
    missing = [i for i in interviewer_ids if i not in found]
    if missing:
        raise Invalid("interviewer_id", f"no interviewer with id {missing[0]}")

    schedules = {row.interviewer_id: row.rules()
                 for row in Schedule.select().where(Schedule.interviewer.in_(interviewer_ids))}
    bookings = bookings_of(interviewer_ids, start - MARGIN, end + MARGIN)
    time_off = time_off_of(interviewer_ids, start, end)
    interviewee_busy = list(
        Interview.select(Interview.start_at, Interview.end_at)
        .where(Interview.interviewee == interviewee_id, Interview.status.in_(ACTIVE),
               Interview.start_at > start - MAX_DURATION, Interview.start_at < end).tuples())
    calendars = {i: Calendar(schedules.get(i, DEFAULT_RULES), bookings[i], time_off[i])
                 for i in interviewer_ids}
    duration = timedelta(minutes=duration_minutes)
    return offer(candidates(start, end, duration, step_minutes), interviewee_busy, calendars,
                 utcnow(), limit)
