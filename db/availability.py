"""Free slots: who may ask, and the few bounded queries that feed `db.slots.offer`."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from db.errors import Forbidden, Invalid
from db.fields import utcnow
from db.holds import held_times
from db.itineraries import Round, search
from db.models import ACTIVE, MAX_DURATION, Interview, Interviewee, InterviewMember, User, check_era
from db.schedules import Schedule, bookings_of, time_off_of, zones
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
    interviewer_ids = list(dict.fromkeys(interviewer_ids))
    check_request(caller, interviewee_id, interviewer_ids, start, end)
    calendars, busy, held = gather(interviewer_ids, interviewee_id, start, end,
                                   ranks=mode == "any" and len(interviewer_ids) > 1)
    duration = timedelta(minutes=duration_minutes)
    return offer(candidates(start, end, duration, step_minutes), busy, calendars,
                 utcnow(), limit, mode, held)


def check_request(caller: User, interviewee_id: int, interviewer_ids: list[int],
                  start: datetime, end: datetime) -> None:
    """Who may ask about these people, and a window of at most 31 days in the era."""
    if end <= start:
        raise Invalid("to", "must be after from")
    if end - start > MAX_WINDOW:
        raise Invalid("to", "at most 31 days after from")
    check_era(start, end, "from")
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



def search_loops(caller: User, fields: dict):
    """Itineraries of the rounds in [start, end] that a loop booking would accept now
    (db.itineraries), and what each rule excluded."""
    start, end = fields["from"], fields["to"]
    rounds = [Round(r["duration_minutes"], tuple(dict.fromkeys(r["interviewer_ids"])),
                    r.get("mode", "any")) for r in fields["rounds"]]
    everyone = list(dict.fromkeys(i for r in rounds for i in r.interviewer_ids))
    check_request(caller, fields["interviewee_id"], everyone, start, end)
    zone_name = fields.get("time_zone", "UTC")
    if zone_name not in zones():
        raise Invalid("search.time_zone", f"{zone_name!r} is not an IANA time zone name")
    gap = fields.get("gap_minutes", {"min": 0, "max": 0})
    if gap["min"] > gap["max"]:
        raise Invalid("search.gap_minutes.max", "must not be below min")
    ranks = any(r.mode == "any" and len(r.interviewer_ids) > 1 for r in rounds)
    calendars, busy, held = gather(everyone, fields["interviewee_id"], start, end, ranks)
    return search(rounds, start, end, fields.get("step_minutes", 15), gap["min"], gap["max"],
                  ZoneInfo(zone_name) if fields.get("same_day") else None, busy, held,
                  calendars, utcnow(), fields.get("limit", 20))


def gather(interviewer_ids: list[int], interviewee_id: int, start: datetime, end: datetime,
           ranks: bool):
    """What the slot arithmetic needs about these people around [start, end]: a Calendar
    for each interviewer (their rules, bookings, time off, others' holds, and, for fairness
    when `ranks`, when their last interview ended), and the interviewee's interviews and
    holds. A few bounded queries, whatever the history's size."""
    schedules = {row.interviewer_id: row.rules()
                 for row in Schedule.select().where(Schedule.interviewer.in_(interviewer_ids))}
    # Fairness (mode any, several people) reads the 28 days before each slot and its week.
    weekly = any(rules.weekly_limit for rules in schedules.values())
    before = LOOKBACK_SPAN if ranks else WEEK_MARGIN if weekly else MARGIN
    after = WEEK_MARGIN if ranks or weekly else MARGIN
    bookings = bookings_of(interviewer_ids, start - before, end + after)
    last_ends = last_ends_before(interviewer_ids, start - before) if ranks else {}
    # Without a schedule an interviewer is always available, time off included (as create
    # has it: no schedule, no rules).
    time_off = time_off_of(list(schedules), start, end)
    held, interviewee_held = held_times(interviewer_ids, interviewee_id, start, end)
    interviewee_busy = list(
        Interview.select(Interview.start_at, Interview.end_at)
        .where(Interview.interviewee == interviewee_id, Interview.status.in_(ACTIVE),
               Interview.start_at > start - MAX_DURATION, Interview.start_at < end).tuples())
    calendars = {i: Calendar(schedules.get(i, DEFAULT_RULES), bookings[i], time_off.get(i, []),
                             last_ends.get(i), held[i])
                 for i in interviewer_ids}
    return calendars, interviewee_busy, interviewee_held


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
