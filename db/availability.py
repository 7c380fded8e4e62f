"""Free slots: who may ask, and the few bounded queries that feed `db.slots.offer`."""
from __future__ import annotations

from datetime import datetime, timedelta

from db.errors import Forbidden, Invalid
from db.fields import utcnow
from db.models import ACTIVE, MAX_DURATION, Interview, Interviewee, InterviewMember, User, check_era
from db.schedules import Schedule, bookings_of, time_off_of
from db.slots import Calendar, Rules, candidates, offer

MAX_WINDOW = timedelta(days=31)
# Bookings that can matter to a candidate: a buffer (4 h) or a local day (26 h at most)
# away, plus the longest interview (8 h); a local ISO week (under a weekly limit) is 8 days.
MARGIN = timedelta(days=2)
WEEK_MARGIN = timedelta(days=9)
LOOKBACK_SPAN = timedelta(days=30)  # fairness: the 28 days before a slot, and its local week
DEFAULT_RULES = Rules()


def availability(caller: User, interviewee_id: int, interviewer_ids: list[int], start: datetime,
                 end: datetime, duration_minutes: int, step_minutes: int, limit: int,
                 mode: str = "any"):
    """Slots in [start, end] a create would accept now (`any`: with one of the interviewers,
    fairest first; `all`: with all of them, as a panel), and what each rule excluded."""
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
    # Fairness (mode any, several people) reads the 28 days before each slot and its week.
    ranks = mode == "any" and len(interviewer_ids) > 1
    weekly = any(rules.weekly_limit for rules in schedules.values())
    before = LOOKBACK_SPAN if ranks else WEEK_MARGIN if weekly else MARGIN
    after = WEEK_MARGIN if ranks or weekly else MARGIN
    bookings = bookings_of(interviewer_ids, start - before, end + after)
    last_ends = last_ends_before(interviewer_ids, start - before) if ranks else {}
    # Without a schedule an interviewer is always available, time off included (as create
    # has it: no schedule, no rules).
    time_off = time_off_of(list(schedules), start, end)
    interviewee_busy = list(
        Interview.select(Interview.start_at, Interview.end_at)
        .where(Interview.interviewee == interviewee_id, Interview.status.in_(ACTIVE),
               Interview.start_at > start - MAX_DURATION, Interview.start_at < end).tuples())
    calendars = {i: Calendar(schedules.get(i, DEFAULT_RULES), bookings[i], time_off.get(i, []),
                             last_ends.get(i))
                 for i in interviewer_ids}
    duration = timedelta(minutes=duration_minutes)
    return offer(candidates(start, end, duration, step_minutes), interviewee_busy, calendars,
                 utcnow(), limit, mode)


def last_ends_before(interviewer_ids: list[int], instant: datetime) -> dict[int, datetime]:
    """For each interviewer, when their last counted active interview (lead or panelist)
    starting before `instant` ended: the latest start is the latest end (one person's active
    interviews never overlap), read backwards from the active-member index, one row each."""
    found = {}
    member = InterviewMember
    for interviewer_id in interviewer_ids:
        row = (member.select(member.end_at)
               .where(member.interviewer == interviewer_id, member.active == True,
                      member.start_at < instant, member.role != "shadow")
               .order_by(member.start_at.desc()).limit(1).first())
        if row is not None:
            found[interviewer_id] = row.end_at
    return found
