"""Interviewers' schedules and time off, and the booking rules that read them.

The arithmetic is in `db.slots` (pure); here are the tables, who may change them, and the
bounded queries that feed the arithmetic inside the booking transaction.
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import available_timezones

from peewee import (
    BigAutoField,
    CharField,
    ForeignKeyField,
    IntegerField,
    SqliteDatabase,
    TextField,
)

from db.connection import write_transaction
from db.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed, Unworkable
from db.fields import UTCDateTimeField, utcnow
from db.models import (
    BaseModel,
    InterviewMember,
    User,
    check_era,
    check_storable,
    database,
    satisfies,
)
from db.prepared import Prepared, id_markers
from db.slots import DAYS, RULES, Calendar, Rules, minutes_of

MAX_TIME_OFF = timedelta(days=92)
MAX_TIME_OFF_ENTRIES = 200
MAX_DATE_OVERRIDES = 400
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DEFAULT = {"time_zone": "UTC", "working_hours": None, "buffer_minutes": 0, "daily_limit": None,
           "minimum_notice_minutes": 0, "weekly_limit": None, "date_overrides": {}}
MESSAGES = {
    "overlap": "the slot overlaps active interview(s) of the interviewer",
    "buffer": "the slot is closer than the interviewer's buffer of {buffer} minutes to "
              "active interview(s)",
    "time_off": "the interviewer has time off during the slot",
    "daily_limit": "the interviewer already has {limit} active interview(s) starting that "
                   "local day, their daily limit",
    "weekly_limit": "the interviewer already has {weekly} active interview(s) starting that "
                    "local week (Monday to Monday), their weekly limit",
    "outside_working_hours": "the slot is not inside one of the interviewer's working periods "
                             "({zone} local time)",
    "too_soon": "the slot starts less than {notice} minutes from now, the interviewer's "
                "minimum notice",
}
REFUSALS = {"overlap": Conflict, "buffer": Conflict, "time_off": Conflict,
            "daily_limit": Conflict, "weekly_limit": Conflict,
            "outside_working_hours": Unworkable, "too_soon": Unworkable}
assert set(REFUSALS) == set(RULES)


class Schedule(BaseModel):
    interviewer = ForeignKeyField(User, column_name="interviewer_id", primary_key=True)
    time_zone = CharField(max_length=64)
    working_hours = TextField(null=True)  # JSON, as the API shows it
    buffer_minutes = IntegerField()
    daily_limit = IntegerField(null=True)
    minimum_notice_minutes = IntegerField()
    weekly_limit = IntegerField(null=True)
    date_overrides = TextField(null=True)  # JSON, as the API shows it; null: none
    version = IntegerField()
    updated_at = UTCDateTimeField(default=utcnow)

    def shown(self) -> dict:
        return {"time_zone": self.time_zone,
                "working_hours": self.working_hours and json.loads(self.working_hours),
                "buffer_minutes": self.buffer_minutes, "daily_limit": self.daily_limit,
                "minimum_notice_minutes": self.minimum_notice_minutes,
                "weekly_limit": self.weekly_limit,
                "date_overrides": json.loads(self.date_overrides or "{}")}

    def rules(self) -> Rules:
        hours = None if self.working_hours is None else {
            day: [(minutes_of(p["start"]), minutes_of(p["end"])) for p in periods]
            for day, periods in json.loads(self.working_hours).items()}
        overrides = {
            date.fromisoformat(day): [(minutes_of(p["start"]), minutes_of(p["end"]))
                                      for p in periods]
            for day, periods in json.loads(self.date_overrides or "{}").items()} or None
        return Rules(self.time_zone, hours, self.buffer_minutes, self.daily_limit,
                     self.minimum_notice_minutes, self.weekly_limit, overrides)


class TimeOff(BaseModel):
    id = BigAutoField()
    interviewer = ForeignKeyField(User, column_name="interviewer_id")
    start_at = UTCDateTimeField()
    end_at = UTCDateTimeField()
    reason = CharField(max_length=500, null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        table_name = "time_off"


@functools.cache
def zones() -> frozenset[str]:
    """The IANA names zoneinfo knows (the `tzdata` package supplies them where the OS does not)."""
    # The OS directory may also hold links that are not zone names (`localtime`: the host's).
    return frozenset(available_timezones()) - {"localtime", "posixrules"}


def etag(interviewer_id: int, version: int) -> str:
    return f'"schedule-{interviewer_id}-{version}"'


def manageable(caller: User, interviewer_id: int) -> User:
    """The interviewer whose schedule `caller` may see and change: their own, or any for a
    coordinator; 404 for anything else (never 403, so ids are not probed)."""
    interviewer = None
    if caller.role == "coordinator" or caller.id == interviewer_id:
        interviewer = User.get_or_none((User.id == interviewer_id) & (User.role == "interviewer"))
    if interviewer is None:
        raise NotFound(f"no interviewer {interviewer_id}")
    return interviewer


def read_schedule(caller: User, interviewer_id: int) -> tuple[dict, str]:
    """The schedule (the default when none was set) and its ETag."""
    manageable(caller, interviewer_id)
    row = Schedule.get_or_none(Schedule.interviewer == interviewer_id)
    if row is None:
        return dict(DEFAULT), etag(interviewer_id, 0)
    return row.shown(), etag(interviewer_id, row.version)


def checked_periods(periods: list[dict], field: str) -> list[dict]:
    """One day's periods as stored: each starts before it ends, in order, apart."""
    periods = sorted(periods, key=lambda p: minutes_of(p["start"]))
    for n, period in enumerate(periods):
        if minutes_of(period["start"]) >= minutes_of(period["end"]):
            raise Invalid(field, f"{period['start']}-{period['end']}: "
                          "a period must start before it ends, within the day")
        if n and minutes_of(period["start"]) < minutes_of(periods[n - 1]["end"]):
            raise Invalid(field, "periods of a day must not overlap")
    return [{"start": p["start"], "end": p["end"]} for p in periods]


def checked_hours(hours: dict | None) -> str | None:
    """Working hours as stored: each day's periods start before they end, in order, apart."""
    if hours is None:
        return None
    return json.dumps({day: checked_periods(hours[day], f"working_hours.{day}")
                       for day in DAYS if day in hours})


def checked_overrides(overrides: dict | None) -> str | None:
    """Date overrides as stored: real local dates (YYYY-MM-DD, years 1900 to 8999), in date
    order, each with periods as a working day's; at most MAX_DATE_OVERRIDES dates."""
    if not overrides:
        return None
    if len(overrides) > MAX_DATE_OVERRIDES:
        raise Invalid("date_overrides", f"at most {MAX_DATE_OVERRIDES} dates")
    tidy = {}
    for key in sorted(overrides):
        field = f"date_overrides.{key}"
        try:
            day = date.fromisoformat(key) if DATE.fullmatch(key) else None
        except ValueError:
            day = None
        if day is None or not 1900 <= day.year < 9000:
            raise Invalid(field, "not a date (YYYY-MM-DD, years 1900 to 8999)")
        tidy[key] = checked_periods(overrides[key], field)
    return json.dumps(tidy)


def write_schedule(caller: User, interviewer_id: int, fields: dict,
                   if_match: frozenset[str] | None) -> tuple[dict, str]:
    """Replace the schedule (If-Match guarded); the interviewer's row is locked meanwhile so
    no booking is checked against half-changed rules."""
    if fields["time_zone"] not in zones():
        raise Invalid("time_zone", f"{fields['time_zone']!r} is not an IANA time zone name")
    hours = checked_hours(fields.get("working_hours"))
    overrides = checked_overrides(fields.get("date_overrides"))
    with write_transaction():
        manageable(caller, interviewer_id)
        lock_interviewer(interviewer_id, "FOR UPDATE")  # waits for bookings reading the old one
        row = Schedule.get_or_none(Schedule.interviewer == interviewer_id)
        version = row.version if row else 0
        current = etag(interviewer_id, version)
        if not satisfies(if_match, current):
            raise PreconditionFailed(f"the schedule has changed; its ETag is now {current}")
        values = {"time_zone": fields["time_zone"], "working_hours": hours,
                  "buffer_minutes": fields.get("buffer_minutes", 0),
                  "daily_limit": fields.get("daily_limit"),
                  "minimum_notice_minutes": fields.get("minimum_notice_minutes", 0),
                  "weekly_limit": fields.get("weekly_limit"), "date_overrides": overrides,
                  "version": version + 1, "updated_at": utcnow()}
        if row is None:
            row = Schedule.create(interviewer=interviewer_id, **values)
        else:
            Schedule.update(**values).where(Schedule.interviewer == interviewer_id).execute()
            row = Schedule.get(Schedule.interviewer == interviewer_id)
        return row.shown(), etag(interviewer_id, row.version)


def time_off_list(caller: User, interviewer_id: int) -> list[TimeOff]:
    manageable(caller, interviewer_id)
    return list(TimeOff.select().where(TimeOff.interviewer == interviewer_id)
                .order_by(TimeOff.start_at, TimeOff.id).limit(MAX_TIME_OFF_ENTRIES))


def add_time_off(caller: User, interviewer_id: int, start_at: datetime, end_at: datetime,
                 reason: str | None) -> TimeOff:
    if end_at <= start_at:
        raise Invalid("time_off.end_at", "must be after start_at")
    check_era(start_at, end_at, "time_off.start_at")
    check_storable("time_off.reason", reason)
    if end_at - start_at > MAX_TIME_OFF:
        raise Invalid("time_off.end_at", "one entry of time off lasts at most 92 days; add several")
    with write_transaction():
        manageable(caller, interviewer_id)
        lock_interviewer(interviewer_id)
        entries = TimeOff.select().where(TimeOff.interviewer == interviewer_id).count()
        if entries >= MAX_TIME_OFF_ENTRIES:
            raise Invalid("time_off", f"an interviewer has at most {MAX_TIME_OFF_ENTRIES} entries "
                          "of time off; delete past ones first")
        return TimeOff.create(interviewer=interviewer_id, start_at=start_at, end_at=end_at,
                              reason=reason, created_at=utcnow())


def remove_time_off(caller: User, interviewer_id: int, time_off_id: int) -> None:
    with write_transaction():
        manageable(caller, interviewer_id)
        deleted = TimeOff.delete().where((TimeOff.id == time_off_id)
                                         & (TimeOff.interviewer == interviewer_id)).execute()
    if not deleted:
        raise NotFound(f"no time off {time_off_id} of interviewer {interviewer_id}")


def lock_interviewer(interviewer_id: int, strength: str = "FOR NO KEY UPDATE") -> None:
    """Lock the interviewer's row until commit (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    lets one writer at a time in); see `lock_interviewers`."""
    lock_interviewers([interviewer_id], strength)


def lock_interviewers(interviewer_ids: Sequence[int], strength: str = "FOR NO KEY UPDATE") -> None:
    """Lock these interviewers' rows until commit, in id order (PostgreSQL; SQLite's BEGIN
    IMMEDIATE already lets one writer at a time in).

    Exclusion constraints cannot express buffers or limits, so a booking of interviewers
    with a schedule takes `FOR NO KEY UPDATE` on each of them before reading what it checks:
    it conflicts with itself, so those bookings serialize per interviewer, but not with the
    key-share locks of foreign-key checks, so writes that merely name an interviewer do not
    wait on it. Every booking first takes `FOR KEY SHARE` on every member (shared by all
    bookings) to read whether there is a schedule; changing a schedule takes `FOR UPDATE`,
    which waits for those readers and holds new ones back, so no booking is checked against
    a schedule that changes under it, and bookings of interviewers without a schedule do not
    wait for one another. Taking the rows in id order keeps two panels that share people
    from locking them crosswise.
    """
    if isinstance(database.obj, SqliteDatabase) or not interviewer_ids:
        return
    list(User.select(User.id).where(User.id.in_(sorted(set(interviewer_ids))))
         .order_by(User.id).for_update(strength))


def schedules_query(interviewer_ids: list):
    return Schedule.select().where(Schedule.interviewer.in_(interviewer_ids))


SCHEDULES_COMPILED_UP_TO = 20  # a panel's interviewers; more are built each time


@functools.cache
def schedules_compiled(count: int) -> Prepared:
    return Prepared(lambda *markers: schedules_query(list(markers)), *id_markers(count),
                    links=())


def schedules_of(interviewer_ids: list[int]) -> list[Schedule]:
    """The schedules of these interviewers (those who have one), compiled once per count:
    every booking asks."""
    if len(interviewer_ids) > SCHEDULES_COMPILED_UP_TO:
        return list(schedules_query(interviewer_ids))
    return schedules_compiled(len(interviewer_ids))(*interviewer_ids)


def bookings_of(interviewer_ids: list[int], low: datetime, high: datetime,
                exclude_id: int | None = None
                ) -> dict[int, list[tuple[datetime, datetime, int, bool]]]:
    """Active interviews of these interviewers (as lead or member; declined seats are free)
    starting in [low, high), with whether each counts toward limits: one flat range query."""
    member = InterviewMember
    query = (member
             .select(member.interview, member.interviewer, member.start_at, member.end_at,
                     member.role)
             .where(member.interviewer.in_(interviewer_ids), member.active == True,
                    member.start_at >= low, member.start_at < high, *member.crossing(low, high)))
    if exclude_id is not None:
        query = query.where(member.interview != exclude_id)
    found: dict[int, list] = {i: [] for i in interviewer_ids}
    for interview_id, interviewer_id, start, end, role in query.tuples():
        found[interviewer_id].append((start, end, interview_id, role != "shadow"))
    return found


def time_off_of(interviewer_ids: list[int], start: datetime, end: datetime
                ) -> dict[int, list[tuple[datetime, datetime]]]:
    """Time off of these interviewers overlapping [start, end), bounded on both sides."""
    query = (TimeOff.select(TimeOff.interviewer, TimeOff.start_at, TimeOff.end_at)
             .where(TimeOff.interviewer.in_(interviewer_ids), TimeOff.start_at < end,
                    TimeOff.start_at > start - MAX_TIME_OFF, TimeOff.end_at > start))
    found: dict[int, list] = {i: [] for i in interviewer_ids}
    for interviewer_id, t_start, t_end in query.tuples():
        found[interviewer_id].append((t_start, t_end))
    return found


def overriding(caller: User, fields: dict) -> bool:
    """True when the body asks to override the schedule; only coordinators may (403)."""
    if not fields.get("override_schedule"):
        return False
    if caller.role != "coordinator":
        raise Forbidden("only a coordinator may override an interviewer's schedule")
    return True


def enforce(members: Sequence[tuple[int, bool]], start: datetime, end: datetime,
            exclude_id: int | None = None, override: bool = False) -> None:
    """Inside the booking's transaction, after the overlap check: refuse a slot that breaks
    the schedule of one of `members` ((interviewer id, counts toward limits) each, the lead
    first; a shadow does not count), naming the first who breaks a rule. No schedule, no
    rules (and no extra work on SQLite); each query reads every member at once."""
    ids = [interviewer_id for interviewer_id, _ in members]
    lock_interviewers(ids, "FOR KEY SHARE")
    rows = {row.interviewer_id: row.rules() for row in schedules_of(ids)}
    if not rows:
        return
    lock_interviewers(list(rows))  # rules that span bookings: one booking at a time
    reaches = [rules.reach(start, end) for rules in rows.values()]
    bookings = bookings_of(list(rows), min(r[0] for r in reaches), max(r[1] for r in reaches),
                           exclude_id)
    time_off = time_off_of(list(rows), start, end)
    now = utcnow()
    for interviewer_id, counts in members:
        rules = rows.get(interviewer_id)
        if rules is None:
            continue
        calendar = Calendar(rules, bookings[interviewer_id], time_off[interviewer_id])
        broken = calendar.broken(start, end, now, override, counts)
        if broken is not None:
            refuse(broken[0], broken[1], rules, interviewer_id)


def refuse(code: str, conflicts: list[int], rules: Rules, interviewer_id: int) -> None:
    detail = MESSAGES[code].format(buffer=rules.buffer_minutes, limit=rules.daily_limit,
                                   weekly=rules.weekly_limit, zone=rules.time_zone,
                                   notice=rules.minimum_notice_minutes)
    extra = {"conflicts": conflicts} if code in ("overlap", "buffer") else {}
    raise REFUSALS[code](f"interviewer {interviewer_id}: {detail}", code=code,
                         interviewer_id=interviewer_id, **extra)
