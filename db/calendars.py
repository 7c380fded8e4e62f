"""Private calendar feeds: one secret URL per user, stored hashed, and what a feed holds."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from peewee import BigIntegerField, CharField

from db.connection import write_transaction
from db.errors import NotFound
from db.fields import UTCDateTimeField, utcnow
from db.models import BaseModel, Interview, User, attach_members

PAST = timedelta(days=30)  # how far back a feed reaches, and how long a cancellation stays
AHEAD = timedelta(days=365)
MAX_EVENTS = 1000  # a feed holds at most this many interviews, the earliest first
GONE = ("cancelled", "declined")


class CalendarFeed(BaseModel):
    user_id = BigIntegerField(primary_key=True)
    token_sha256 = CharField(max_length=64, unique=True)
    created_at = UTCDateTimeField(default=utcnow)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def rotate_feed(owner: User) -> str:
    """A new secret token for `owner`'s feed; the old one (if any) stops working."""
    token = secrets.token_urlsafe(32)
    with write_transaction():
        CalendarFeed.insert(user_id=owner.id, token_sha256=digest(token), created_at=utcnow()) \
            .on_conflict(conflict_target=[CalendarFeed.user_id],
                         update={CalendarFeed.token_sha256: digest(token),
                                 CalendarFeed.created_at: utcnow()}).execute()
    return token


def end_feed(owner: User) -> None:
    """No feed for `owner` any more (whether or not there was one)."""
    CalendarFeed.delete().where(CalendarFeed.user_id == owner.id).execute()


def feed_owner(token: str) -> User:
    """The user whose feed `token` opens; NotFound for an unknown, rotated or ended one."""
    owner = (User.select().join(CalendarFeed, on=CalendarFeed.user_id == User.id)
             .where(CalendarFeed.token_sha256 == digest(token)).get_or_none())
    if owner is None:
        raise NotFound("no calendar feed has this URL (it may have been rotated or ended)")
    return owner


def feed_interviews(owner: User, now: datetime | None = None) -> list[Interview]:
    """`owner`'s visible interviews from 30 days back to a year ahead, earliest first; declined
    and cancelled ones only for 30 days after the change (long enough for apps to drop them)."""
    now = now or utcnow()
    query = Interview.visible_to(owner).where(
        Interview.start_at >= now - PAST, Interview.start_at < now + AHEAD,
        Interview.status.not_in(GONE) | (Interview.updated_at >= now - PAST))
    rows = list(query.order_by(Interview.start_at, Interview.id).limit(MAX_EVENTS))
    attach_members(rows)  # every event lists its attendees: one query for all of them
    return rows
