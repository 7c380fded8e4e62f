"""Interviewers' schedules and time off, and the booking rules that read them.

The arithmetic is in `db.slots` (pure); here are the tables, who may change them, and the
bounded queries that feed the arithmetic inside the booking transaction.
"""
from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
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
    ACTIVE,
    MAX_DURATION,
    BaseModel,
    Interview,
    User,
    check_era,
    check_storable,
    database,
    satisfies,
)
from db.slots import DAYS, RULES, Calendar, Rules, minutes_of

MAX_TIME_OFF = timedelta(days=92)
MAX_TIME_OFF_ENTRIES = 200
DEFAULT = {"time_zone": "UTC", "working_hours": None, "buffer_minutes": 0, "daily_limit": None,
           "minimum_notice_minutes": 0}
MESSAGES = {
    "overlap": "the slot overlaps active interview(s) of the interviewer",
    "buffer": "the slot is closer than the interviewer's buffer of {buffer} minutes to "
              "active interview(s)",
    "time_off": "the interviewer has time off during the slot",
    "daily_limit": "the interviewer already has {limit} active interview(s) starting that "
                   "local day, their daily limit",
    "outside_working_hours": "the slot is not inside one of the interviewer's working periods "
                             "({zone} local time)",
    "too_soon": "the slot starts less than {notice} minutes from now, the interviewer's "
                "minimum notice",
}
REFUSALS = {"overlap": Conflict, "buffer": Conflict, "time_off": Conflict,
            "daily_limit": Conflict, "outside_working_hours": Unworkable, "too_soon": Unworkable}
assert set(REFUSALS) == set(RULES)


class Schedule(BaseModel):
    interviewer = ForeignKeyField(User, column_name="interviewer_id", primary_key=True)
    time_zone = CharField(max_length=64)
    working_hours = TextField(null=True)  # JSON, as the API shows it
    buffer_minutes = IntegerField()
    daily_limit = IntegerField(null=True)
    minimum_notice_minutes = IntegerField()
    version = IntegerField()
    updated_at = UTCDateTimeField(default=utcnow)

    def shown(self) -> dict:
        return {"time_zone": self.time_zone,
                "working_hours": self.working_hours and json.loads(self.working_hours),
                "buffer_minutes": self.buffer_minutes, "daily_limit": self.daily_limit,
                "minimum_notice_minutes": self.minimum_notice_minutes}

    def rules(self) -> Rules:
        hours = None if self.working_hours is None else {
            day: [(minutes_of(p["start"]), minutes_of(p["end"])) for p in periods]
            for day, periods in json.loads(self.working_hours).items()}
        return Rules(self.time_zone, hours, self.buffer_minutes, self.daily_limit,
                     self.minimum_notice_minutes)


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


def checked_hours(hours: dict | None) -> str | None:
    """Working hours as stored: each day's periods start before they end, in order, apart."""
    if hours is None:
        return None
    tidy = {}
    for day in DAYS:
        if day not in hours:
            continue
        periods = sorted(hours[day], key=lambda p: minutes_of(p["start"]))
        for n, period in enumerate(periods):
            if minutes_of(period["start"]) >= minutes_of(period["end"]):
                raise Invalid(f"working_hours.{day}", f"{period['start']}-{period['end']}: "
                              "a period must start before it ends, within the day")
            if n and minutes_of(period["start"]) < minutes_of(periods[n - 1]["end"]):
                raise Invalid(f"working_hours.{day}", "periods of a day must not overlap")
        tidy[day] = [{"start": p["start"], "end": p["end"]} for p in periods]
    return json.dumps(tidy)


def write_schedule(caller: User, interviewer_id: int, fields: dict,
                   if_match: frozenset[str] | None) -> tuple[dict, str]:
    """Replace the schedule (If-Match guarded); the interviewer's row is locked meanwhile so
    no booking is checked against half-changed rules."""
    if fields["time_zone"] not in zones():
        raise Invalid("time_zone", f"{fields['time_zone']!r} is not an IANA time zone name")
    hours = checked_hours(fields.get("working_hours"))
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
    lets one writer at a time in).

    Exclusion constraints cannot express buffers or daily limits, so a booking of an
    interviewer with a schedule takes `FOR NO KEY UPDATE` before reading what it checks: it
    conflicts with itself, so those bookings serialize, but not with the key-share locks of
    foreign-key checks, so writes that merely name the interviewer do not wait on it.
    Every booking first takes `FOR KEY SHARE` (shared by all bookings) to read whether there
    is a schedule; changing a schedule takes `FOR UPDATE`, which waits for those readers and
    holds new ones back, so no booking is checked against a schedule that changes under it,
    and bookings of an interviewer without a schedule do not wait for one another.
    """
    if isinstance(database.obj, SqliteDatabase):
        return
    list(User.select(User.id).where(User.id == interviewer_id).for_update(strength))


def bookings_of(interviewer_ids: list[int], low: datetime, high: datetime,
                exclude_id: int | None = None) -> dict[int, list[tuple[datetime, datetime, int]]]:
    """Active interviews of these interviewers starting in [low, high): one flat range query."""
    query = (Interview
             .select(Interview.id, Interview.interviewer, Interview.start_at, Interview.end_at)
             .where(Interview.interviewer.in_(interviewer_ids), Interview.status.in_(ACTIVE),
                    Interview.start_at >= low, Interview.start_at < high))
    if exclude_id is not None:
        query = query.where(Interview.id != exclude_id)
    found: dict[int, list] = {i: [] for i in interviewer_ids}
    for row in query.tuples():
        found[row[1]].append((row[2], row[3], row[0]))
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


def enforce(interviewer_id: int, start: datetime, end: datetime,
            exclude_id: int | None = None, override: bool = False) -> None:
    """Inside the booking's transaction, after the overlap check: refuse a slot that breaks
    the interviewer's schedule. No schedule, no rules (and no extra work on SQLite)."""
    lock_interviewer(interviewer_id, "FOR KEY SHARE")
    row = Schedule.get_or_none(Schedule.interviewer == interviewer_id)
    if row is None:
        return
    lock_interviewer(interviewer_id)  # rules that span bookings: one booking at a time
    rules = row.rules()
    day_start, day_end = rules.day_bounds(rules.day_of(start))
    buffer = timedelta(minutes=rules.buffer_minutes)
    low = min(day_start, start - MAX_DURATION - buffer)
    high = max(day_end, end + buffer)
    calendar = Calendar(rules, bookings_of([interviewer_id], low, high, exclude_id)[interviewer_id],
                        time_off_of([interviewer_id], start, end)[interviewer_id])
    broken = calendar.broken(start, end, utcnow(), override)
    if broken is not None:
        refuse(broken[0], broken[1], rules)


def refuse(code: str, conflicts: list[int], rules: Rules) -> None:
    detail = MESSAGES[code].format(buffer=rules.buffer_minutes, limit=rules.daily_limit,
                                   zone=rules.time_zone, notice=rules.minimum_notice_minutes)
    extra = {"conflicts": conflicts} if code in ("overlap", "buffer") else {}
    raise REFUSALS[code](detail, code=code, **extra)
