"""Peewee models and the rules that belong to a single row."""
from __future__ import annotations

import functools
import json
from datetime import UTC, datetime, timedelta

from peewee import (
    SQL,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DatabaseProxy,
    Expression,
    ForeignKeyField,
    IntegerField,
    Model,
    SqliteDatabase,
    TextField,
    fn,
)

from db.errors import Forbidden, Invalid, InvalidTransition, PreconditionFailed
from db.fields import UTCDateTimeField, utcnow

database = DatabaseProxy()

ROLES = ("driver", "interviewer", "coordinator")
STATUSES = ("pending", "confirmed", "declined", "cancelled", "completed", "no_show")
ACTIVE = ("pending", "confirmed")
MIN_DURATION = timedelta(minutes=5)
MAX_DURATION = timedelta(hours=8)
# Interviews lie between these: checks look hours and days around an instant (overlap ranges,
# buffers, local days), which must not run off the calendar.
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)

INTERVIEWER_SIDE = "interviewer"
INTERVIEWEE_SIDE = "interviewee"
PANEL_SIDE = "panel"  # a panelist or shadow: sees the interview, answers for themselves only
BOTH_SIDES = frozenset({INTERVIEWER_SIDE, INTERVIEWEE_SIDE})
LEAD, SHADOW = "lead", "shadow"  # member roles the rules tell apart (and "panelist")
DECLINED = "declined"
# Which side may ever take each action; whether it may take it now depends on the state.
ACTION_SIDES: dict[str, frozenset[str]] = {
    "edit": frozenset({INTERVIEWER_SIDE}),
    "confirm": frozenset({INTERVIEWEE_SIDE}),
    "decline": frozenset({INTERVIEWEE_SIDE}),
    "cancel": BOTH_SIDES,
    "complete": frozenset({INTERVIEWER_SIDE}),
    "no_show": frozenset({INTERVIEWER_SIDE}),
    "propose_amendment": BOTH_SIDES,
    "accept_amendment": BOTH_SIDES,
    "reject_amendment": BOTH_SIDES,
    "withdraw_amendment": BOTH_SIDES,
    "respond": frozenset({PANEL_SIDE}),
}


ANY_TAG = "*"


def satisfies(if_match: frozenset[str] | None, etag: str) -> bool:
    """Whether a write guarded by the If-Match tags (None: unguarded; `*`: any) may go on."""
    return if_match is None or ANY_TAG in if_match or etag in if_match


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class User(BaseModel):
    id = BigIntegerField(primary_key=True)
    title = CharField(max_length=200)
    role = CharField(max_length=20)
    phone_number = CharField(max_length=50, null=True)
    contact_phone_number = CharField(max_length=50, null=True)
    image = CharField(max_length=2048, null=True)
    updated_at = UTCDateTimeField(default=utcnow)


class Interviewee(BaseModel):
    id = BigIntegerField(primary_key=True)
    driver = ForeignKeyField(User, column_name="driver_id", backref="candidacies")
    kind = CharField(max_length=50)
    currency = CharField(max_length=3)
    updated_at = UTCDateTimeField(default=utcnow)

    @classmethod
    def with_driver(cls):
        """Interviewees joined with their driver (one query for a page of them)."""
        return cls.select(cls, User).join(User, on=cls.driver)


class RevokedToken(BaseModel):
    jti = CharField(max_length=255, primary_key=True)
    revoked_at = UTCDateTimeField(default=utcnow)


def check_era(start_at: datetime, end_at: datetime, field: str) -> None:
    """Refuse a span reaching outside the years 1900 to 9000 (interviews, time off, windows)."""
    if start_at < EARLIEST or end_at > LATEST:
        raise Invalid(field, "must lie between the years 1900 and 9000")


def check_times(start_at: datetime, end_at: datetime, prefix: str = "") -> None:
    """Refuse a slot that ends before it starts, lasts under 5 minutes or over 8 hours, or
    lies outside the years 1900 to 9000."""
    check_era(start_at, end_at, f"{prefix}start_at")
    if end_at <= start_at:
        raise Invalid(f"{prefix}end_at", "must be after start_at")
    if not MIN_DURATION <= end_at - start_at <= MAX_DURATION:
        raise Invalid(f"{prefix}end_at", "the interview must last from 5 minutes to 8 hours")


def check_storable(field: str, value: object) -> None:
    """Text no database stores alike (NUL, lone surrogates) is refused on both backends."""
    if isinstance(value, str) and any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value):
        raise Invalid(field, "must not contain NUL characters or lone surrogates")


def check_location(kind: str, location: str | None) -> None:
    """A video call needs an http(s) URL to join; no location holds a NUL."""
    check_storable("location", location)
    if kind == "video_call" and location is not None and not location.startswith(
        ("http://", "https://")
    ):
        raise Invalid("location", "a video_call location must be an http(s) URL")


class Loop(BaseModel):
    """Several interviews of one interviewee booked together (db/loops.py)."""

    id = BigAutoField()
    interviewee = ForeignKeyField(Interviewee, column_name="interviewee_id", lazy_load=False)
    created_by = ForeignKeyField(User, column_name="created_by_id", lazy_load=False)
    status = CharField(max_length=20, default="active")
    created_at = UTCDateTimeField(default=utcnow)


# Where `Interview.with_people`'s joined models hang, for compiled reads (db.prepared.Rows):
# its sources in select order are the interview, the interviewer, the interviewee, the driver.
WITH_PEOPLE = ((1, "interviewer", 0), (2, "interviewee", 0), (3, "driver", 2))


class Interview(BaseModel):
    id = BigAutoField()
    kind = CharField(max_length=20)
    status = CharField(max_length=20, default="pending")
    start_at = UTCDateTimeField()
    end_at = UTCDateTimeField()
    location = CharField(max_length=2048, null=True)
    interviewee = ForeignKeyField(Interviewee, column_name="interviewee_id")
    interviewer = ForeignKeyField(User, column_name="interviewer_id")
    amend_start_at = UTCDateTimeField(null=True)
    amend_end_at = UTCDateTimeField(null=True)
    amended_by = ForeignKeyField(User, column_name="amended_by", null=True, lazy_load=False)
    status_reason = CharField(max_length=1000, null=True)
    version = IntegerField(default=1)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)
    loop = ForeignKeyField(Loop, column_name="loop_id", null=True, lazy_load=False)

    @classmethod
    @functools.cache
    def with_people(cls):
        """Interviews joined with everyone a response shows (one query, no N+1).

        Built once: peewee queries are immutable (each `.where()` returns a copy), and
        building the aliased join was a tenth of a `show` request's time.
        """
        driver = User.alias("driver")
        return (
            cls.select(cls, User, Interviewee, driver)
            .join(User, on=cls.interviewer)
            .switch(cls)
            .join(Interviewee, on=cls.interviewee)
            .join(driver, on=Interviewee.driver)
        )

    @classmethod
    def seen_by(cls, role, user_id, via=None):
        """The one visibility rule: true where the user is on a side of the interview
        (coordinators see all; an interviewer sees those they lead or sit on the panel of).
        `role` and `user_id` are a caller's values, or columns of a joined user (the outbox
        asks which webhook owners see a change); the query must join Interviewee. With
        values, only the caller's branch is written, so plans use that person's index; `via`,
        a member alias the query joined on this interview, lets the interviewer's branch read
        that row rather than look one up (lists then walk the person's member index)."""
        member = InterviewMember.alias("seen")
        interviewer_side = (via.interviewer == user_id) if via is not None else fn.EXISTS(
            member.select(SQL("1")).where(member.interview == cls.id,
                                          member.interviewer == user_id))
        driver_side = Interviewee.driver == user_id
        if isinstance(role, str):
            return {"coordinator": SQL("1 = 1"), "interviewer": interviewer_side}.get(
                role, driver_side)
        return ((role == "coordinator") | ((role == "interviewer") & interviewer_side)
                | ((role == "driver") & driver_side))

    @classmethod
    def visible_to(cls, user: User):
        """The interviews `user` is on a side of, joined with everyone a response shows.

        An interviewer's are reached through their own member rows (`SEEN_VIA`), one per
        interview they are on: the plan walks that person's index, not everyone's."""
        if user.role == "interviewer":
            return (cls.with_people().switch(cls)
                    .join(SEEN_VIA, on=(SEEN_VIA.interview == cls.id))
                    .where(cls.seen_by(user.role, user.id, via=SEEN_VIA)))
        return cls.with_people().where(cls.seen_by(user.role, user.id))

    @classmethod
    def active_near(cls, side: str, person_id: int, start_at: datetime, end_at: datetime,
                    margin: timedelta = timedelta(0)):
        """Active interviews of one person (`side` "interviewer" or "interviewee") that come
        within `margin` of [start, end): the query of overlap (margin 0) and buffer checks.

        Its range on the `(person, start_at, id)` index is bounded on both sides: nothing
        lasts over MAX_DURATION (a database rule since migration 0007), so an interview
        reaching past `start - margin` started after `start - margin - MAX_DURATION`. Without
        that bound the range covers the person's whole history. One person per query: with
        an OR of both, SQLite preferred the (status, start_at) index, which spans everyone.
        """
        return cls.active_between(side, person_id, end_at + margin,
                                  start_at - margin - MAX_DURATION, start_at - margin)

    @classmethod
    def active_between(cls, side: str, person_id: int, starts_before: datetime,
                       starts_after: datetime, ends_after: datetime):
        """Active interviews of one person starting in (after, before) and ending after
        `ends_after`; see `active_near`, which picks the bounds."""
        person = cls.interviewer if side == INTERVIEWER_SIDE else cls.interviewee
        return cls.select(cls.id).where(
            person == person_id,
            cls.status.in_(ACTIVE),
            cls.start_at < starts_before,
            cls.start_at > starts_after,
            cls.end_at > ends_after,
        )

    @property
    def etag(self) -> str:
        """A strong validator of this interview's version."""
        return f'"{self.id}-{self.version}"'

    def check_if_match(self, tags: frozenset[str] | None) -> None:
        """412 unless the If-Match `tags` (None: not sent) name the current version."""
        if not satisfies(tags, self.etag):
            raise PreconditionFailed(f"the interview has changed; its ETag is now {self.etag}")

    def assign(self, **values: object) -> dict[str, tuple]:
        """Set fields; return {field: (old, new)} for those that really changed."""
        changes = {}
        for name, new in values.items():
            old = getattr(self, name)
            if old != new:
                changes[name] = (old, new)
                setattr(self, name, new)
        return changes

    def side_of(self, user: User) -> str | None:
        """Which side of this interview `user` is on, or None if neither."""
        if user.role == "coordinator" or user.id == self.interviewer_id:
            return INTERVIEWER_SIDE
        if user.id == self.interviewee.driver_id:
            return INTERVIEWEE_SIDE
        if user.role == "interviewer" and any(m.interviewer_id == user.id for m in self.members):
            return PANEL_SIDE
        return None

    @property
    def members(self) -> list[InterviewMember]:
        """Everyone interviewing, the lead first, then the panel in the order given (each
        with its user); loaded once, or attached to a page of interviews at once."""
        found = self.__dict__.get("_members")
        if found is None:
            attach_members([self])
            found = self.__dict__["_members"]
        return found

    def forget_members(self) -> None:
        """Read the members again when next asked (after a change wrote them)."""
        self.__dict__.pop("_members", None)

    @property
    def proposer_side(self) -> str | None:
        if self.amended_by_id is None:
            return None
        if self.amended_by_id == self.interviewee.driver_id:
            return INTERVIEWEE_SIDE
        return INTERVIEWER_SIDE

    def allowed_actions(self, side: str | None, now: datetime | None = None) -> list[str]:
        """What a caller on `side` may do to this interview now."""
        if side is None:
            return []
        now = now or utcnow()
        status = self.status
        proposer = self.proposer_side
        possible = {
            "edit": status in ACTIVE,
            "confirm": status == "pending",
            "decline": status == "pending",
            "cancel": status in ACTIVE,
            "complete": status == "confirmed" and self.start_at <= now,
            "no_show": status == "confirmed" and self.start_at <= now,
            "propose_amendment": status in ACTIVE and proposer in (None, side),
            "accept_amendment": status in ACTIVE and proposer not in (None, side),
            "reject_amendment": status in ACTIVE and proposer not in (None, side),
            "withdraw_amendment": status in ACTIVE and proposer == side,
            "respond": status in ACTIVE,
        }
        return [a for a, ok in possible.items() if ok and side in ACTION_SIDES[a]]

    def require(self, action: str, side: str, user_id: int | None = None) -> None:
        """Raise Forbidden if `side` may never take `action`, InvalidTransition if not now."""
        if action == "respond" and user_id == self.interviewer_id:
            raise InvalidTransition(
                "the lead's answer is always accepted: cancel the interview, or hand it to "
                "another interviewer", self.allowed_actions(side))
        if side not in ACTION_SIDES[action]:
            if action == "respond":
                raise Forbidden("only the panel's members answer, each for themselves")
            raise Forbidden(f"the {side} side may not {action.replace('_', ' ')}")
        allowed = self.allowed_actions(side)
        if action not in allowed:
            if action == "propose_amendment" and self.status in ACTIVE:
                raise InvalidTransition(
                    "the other side has an open amendment: accept or reject it first",
                    allowed, code="amendment_pending",
                )
            raise InvalidTransition(
                f"cannot {action.replace('_', ' ')} an interview that is {self.status}"
                + (" with this amendment state" if action.endswith("amendment") else ""),
                allowed,
            )


@functools.cache
def overlap_query(side: str):
    """`active_near(side, ...)` with margin 0 and an id left out, compiled to SQL once: two
    of these run in every booking, and peewee rendering them cost 0.1 ms more than the query."""
    from db.prepared import (  # db imports this module
        ID_MARKER,
        OTHER_ID_MARKER,
        TIME_MARKERS,
        Prepared,
    )

    return Prepared(
        lambda person_id, before, after, ends_after, exclude_id: Interview.active_between(
            side, person_id, before, after, ends_after).where(Interview.id != exclude_id),
        ID_MARKER, *TIME_MARKERS, OTHER_ID_MARKER, links=())


class InterviewMember(BaseModel):
    """One interviewer of an interview: the lead (position 0) or a panel member.

    `status`, `start_at` and `end_at` are the interview's, copied by the database's triggers
    in the statement that changes the interview; `active` is computed by the database
    (pending or confirmed, not declined). Migration 0008 forbids two active rows of one
    interviewer to overlap. Written only with insert and update queries, never `save()`
    (which would write the generated column).
    """

    id = BigAutoField()
    interview = ForeignKeyField(Interview, column_name="interview_id", lazy_load=False)
    interviewer = ForeignKeyField(User, column_name="interviewer_id")
    role = CharField(max_length=20)
    response = CharField(max_length=20)
    position = IntegerField()
    status = CharField(max_length=20)
    start_at = UTCDateTimeField()
    end_at = UTCDateTimeField()
    active = BooleanField(null=True)

    class Meta:
        table_name = "interview_member"

    @property
    def counts(self) -> bool:
        """Whether it counts toward daily and weekly limits and load (shadows do not)."""
        return self.role != SHADOW

    @classmethod
    def overlapping(cls, interviewer_ids: list[int], start_at: datetime, end_at: datetime,
                    exclude_id: int | None = None) -> dict[int, list[int]]:
        """For each of these interviewers with any, the ids of their active interviews (in
        any role) in [start, end), from a bounded range of the active-member index."""
        found: dict[int, list[int]] = {}
        for interviewer_id, interview_id in overlapping_rows(interviewer_ids, start_at, end_at,
                                                             exclude_id):
            found.setdefault(interviewer_id, []).append(interview_id)
        return {i: sorted(ids) for i, ids in found.items()}

    @classmethod
    def overlapping_query(cls, interviewer_ids: list[int], start_at: datetime, end_at: datetime,
                          exclude_id: int | None = None, earliest: datetime | None = None):
        """The query of `overlapping`: a range of the index bounded on both sides (nothing
        lasts over MAX_DURATION, so a seat reaching into [start, end) started after
        `earliest`, start - MAX_DURATION)."""
        earliest = start_at - MAX_DURATION if earliest is None else earliest
        query = (cls.select(cls.interviewer, cls.interview)
                 .where(cls.interviewer.in_(interviewer_ids), cls.active == True,
                        cls.start_at < end_at, cls.start_at > earliest,
                        cls.end_at > start_at, *cls.crossing(start_at, end_at)))
        if exclude_id is not None:
            query = query.where(cls.interview != exclude_id)
        return query.tuples()

    @classmethod
    def crossing(cls, low: datetime, high: datetime) -> list:
        """On PostgreSQL, the seat's range overlaps [low, high), written as the EXCLUDE
        constraint's GiST index has it. Implied by the bounded ranges the checks read, so it
        changes no answer; it gives that index a condition to search by, for the planner
        may pick it (it holds only active seats) and would otherwise filter all of them."""
        if isinstance(database.obj, SqliteDatabase):
            return []
        # The bounds go as the columns store them, so a compiled query finds them (db.prepared).
        return [Expression(fn.tstzrange(cls.start_at, cls.end_at, "[)"), "&&",
                           fn.tstzrange(cls.start_at.to_value(low), cls.end_at.to_value(high),
                                        "[)"))]


OVERLAP_COMPILED_UP_TO = 20  # interviewers at once (a panel); more are built each time


@functools.cache
def overlapping_compiled(count: int, excluding: bool):
    """overlapping_query compiled for `count` interviewers, with or without an interview
    left out (as overlap_query is compiled)."""
    from db.prepared import Prepared, id_markers, time_markers  # db.prepared imports this

    ids = id_markers(count + 1)

    def build(*markers):
        start, end, earliest = markers[count:count + 3]
        return InterviewMember.overlapping_query(
            list(markers[:count]), start, end, markers[count + 3] if excluding else None,
            earliest)

    return Prepared(build, *ids[:count], *time_markers(3), *(ids[count:] if excluding else ()))


def overlapping_rows(interviewer_ids: list[int], start_at: datetime, end_at: datetime,
                     exclude_id: int | None = None) -> list[tuple[int, int]]:
    """overlapping_query's (interviewer, interview) rows, compiled once per shape: every
    booking asks."""
    if len(interviewer_ids) > OVERLAP_COMPILED_UP_TO:
        return list(InterviewMember.overlapping_query(interviewer_ids, start_at, end_at,
                                                      exclude_id))
    excluding = exclude_id is not None
    return overlapping_compiled(len(interviewer_ids), excluding)(
        *interviewer_ids, start_at, end_at, start_at - MAX_DURATION,
        *((exclude_id,) if excluding else ()))


SEEN_VIA = InterviewMember.alias("seen_via")  # the caller's own member row (visible_to)


def attach_members(interviews: list[Interview]) -> None:
    """Load the members of these interviews (with their users) in one query."""
    by_id = {row.id: row for row in interviews}
    for row in by_id.values():
        row.__dict__["_members"] = []
    if not by_id:
        return
    for member in members_of(list(by_id)):
        by_id[member.interview_id].__dict__["_members"].append(member)


def members_query(interview_ids: list):
    """The members of these interviews with their users, by interview then position."""
    return (InterviewMember.select(InterviewMember, User).join(User)
            .where(InterviewMember.interview.in_(interview_ids))
            .order_by(InterviewMember.interview, InterviewMember.position))


MEMBERS_COMPILED_UP_TO = 100  # a page of a list at most; a longer list (a feed) is built


@functools.cache
def members_compiled(count: int):
    """members_query compiled for `count` ids: peewee would render the same text again for
    every show, page and change (about 250 us each)."""
    from db.prepared import Prepared, id_markers  # db.prepared imports this module

    return Prepared(lambda *markers: members_query(list(markers)), *id_markers(count),
                    links=((1, "interviewer", 0),))


def members_of(interview_ids: list[int]) -> list[InterviewMember]:
    """members_query's rows, compiled once per number of ids."""
    if len(interview_ids) > MEMBERS_COMPILED_UP_TO:
        return list(members_query(interview_ids))
    return members_compiled(len(interview_ids))(*interview_ids)


class Event(BaseModel):
    """One change to an interview: who, when, what."""

    id = BigAutoField()
    interview = ForeignKeyField(Interview, column_name="interview_id", backref="events")
    actor = ForeignKeyField(User, column_name="actor_id", lazy_load=False)
    action = CharField(max_length=40)
    changes = TextField()
    reason = CharField(max_length=1000, null=True)
    at = UTCDateTimeField(default=utcnow)
    # The feed position's first half, filled in by the database (see db/feed.py); never set here.
    txid = BigIntegerField(null=True)

    @property
    def changes_dict(self) -> dict:
        return json.loads(self.changes)
