"""The change feed: every visible history event, in commit order, never missed nor repeated.

A position in the feed is the pair (txid, id) of an event, and the feed is read in that order.

PostgreSQL: `txid` is the id of the transaction that wrote the event (`pg_current_xact_id()`,
filled in by the column's default). Event ids are drawn when the insert runs, not at commit, so
id order is not commit order: a transaction holding id 10 may commit after one holding id 11.
A reader therefore only hands out events whose writer is older than the oldest transaction
still running (`pg_snapshot_xmin(pg_current_snapshot())`, the "horizon"): every transaction
below the horizon has ended, so its events are all visible now or never will be, and any
transaction that commits later has an id at or above the horizon, hence a later position.
A page is the events after the cursor and below the horizon; its `next_cursor` is the last
event handed out, or, when the page is not full, just before the horizon (everything below has
been seen), so an empty page still moves the cursor and the next poll starts there.
Each change locks its interview before its first write, so for any one interview the feed's
order is the history's order. Cost: the feed lags behind the oldest open writing transaction
on the server (milliseconds normally; a long one delays the feed, never the API).

SQLite: writers are serialized (BEGIN IMMEDIATE) and a new row's id is above every committed
one, so id order is commit order; `txid` is 0 and the horizon is one past the highest id
committed. A reader in WAL mode sees only whole committed transactions.

The horizon is read in a statement of its own, before the page: events below it were final
when it was read, so the later statement sees all of them.
"""
from __future__ import annotations

from peewee import SqliteDatabase, Tuple, fn

from db.events import actions_of
from db.models import SEEN_VIA, Event, Interview, Interviewee, User, database

Position = tuple[int, int]  # (txid, id): an event's place in the feed
START: Position = (0, 0)  # before every event: ids start at 1, txids at 0
MAX_ID = 2**63 - 1


def horizon() -> Position:
    """The first position that may still gain events: everything before it is final."""
    if isinstance(database.obj, SqliteDatabase):
        return 0, Event.select(fn.COALESCE(fn.MAX(Event.id), 0)).scalar() + 1
    cursor = database.execute_sql("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    return cursor.fetchone()[0], 0


def between(after: Position, end: Position):
    """Events after `after` and before `end`, as a condition an index can seek on."""
    if isinstance(database.obj, SqliteDatabase):
        # Every txid is 0 here. SQLite seeks an index on a row-value range by its first column
        # only (a scan from the start of the feed); equality on txid lets it seek on id too.
        return (Event.txid == after[0]) & (Event.id > after[1]) & (Event.id < end[1])
    position = Tuple(Event.txid, Event.id)
    return (position > Tuple(*after)) & (position < Tuple(*end))


def visible_events(caller: User):
    """History events of the interviews `caller` may see (`Interview.seen_by`); an
    interviewer's are reached through their own member rows (lead or panel)."""
    query = Event.select(Event).join(Interview).join(Interviewee)
    if caller.role == "interviewer":
        return (query.switch(Interview).join(SEEN_VIA, on=(SEEN_VIA.interview == Interview.id))
                .where(Interview.seen_by(caller.role, caller.id, via=SEEN_VIA)))
    return query.where(Interview.seen_by(caller.role, caller.id))


def page_of_events(caller: User, after: Position, limit: int,
                   types: list[str] | None = None) -> tuple[list[Event], Position]:
    """Up to `limit` visible events after `after`, in feed order, and the position to resume at."""
    end = horizon()
    query = visible_events(caller).where(between(after, end))
    if types:
        query = query.where(Event.action.in_(actions_of(types)))
    rows = list(query.order_by(Event.txid, Event.id).limit(limit))
    if len(rows) == limit:
        return rows, (rows[-1].txid, rows[-1].id)
    # Not full: every event before the horizon was looked at; resume just before it.
    return rows, max(after, just_before(end))


def just_before(end: Position) -> Position:
    """The last position before `end`: (h, 0) on PostgreSQL, (0, n) on SQLite."""
    return (end[0], end[1] - 1) if end[1] > 0 else (end[0] - 1, MAX_ID)
