"""The people directory: whom a booking screen may find, searched by title, keyset paged."""
from __future__ import annotations

from peewee import JOIN, SQL, NodeList, SqliteDatabase, Tuple, fn

from db.errors import Forbidden
from db.models import Interviewee, User, database
from db.schedules import Schedule


def contains(field, text: str):
    """`field` contains `text`, ignoring case, with `%`, `_` and `\\` taken literally."""
    if "\x00" in text:  # no title holds one (see refuse_unstorable), and PostgreSQL refuses it
        return SQL("1 = 0")
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if isinstance(database.obj, SqliteDatabase):  # see db.open_database
        return NodeList((fn.unicode_lower(field), SQL("LIKE"), pattern.lower(), SQL("ESCAPE '\\'")))
    return NodeList((field, SQL("ILIKE"), pattern, SQL("ESCAPE '\\'")))


def with_time_zone(query):
    """Adds each interviewer's `time_zone` to `query`: their schedule's, or "UTC" without one."""
    return (query.select_extend(fn.COALESCE(Schedule.time_zone, "UTC").alias("time_zone"))
            .join(Schedule, JOIN.LEFT_OUTER, on=(Schedule.interviewer == User.id)))


def interviewers_query(caller: User, q: str | None, after: tuple[str, int] | None):
    """Users with role interviewer whose title contains `q`, by (title, id), after a keyset."""
    if caller.role == "driver":
        raise Forbidden("drivers may not list interviewers")
    query = with_time_zone(User.select(User.id, User.title, User.contact_phone_number, User.image)
                           .where(User.role == "interviewer"))
    if q:
        query = query.where(contains(User.title, q))
    if after is not None:
        query = query.where(Tuple(User.title, User.id) > Tuple(*after))
    return query.order_by(User.title, User.id)


def interviewees_query(caller: User, q: str | None, driver_id: int | None, after: int | None):
    """The interviewees `caller` may see (a driver: their own), filtered, by id after `after`."""
    query = Interviewee.with_driver()
    if caller.role == "driver":
        query = query.where(Interviewee.driver == caller.id)
    if driver_id is not None:
        query = query.where(Interviewee.driver == driver_id)
    if q:
        query = query.where(contains(User.title, q))
    if after is not None:
        query = query.where(Interviewee.id > after)
    return query.order_by(Interviewee.id)


def page(query, limit: int) -> tuple[list, bool]:
    """Up to `limit` rows of a keyset query, and whether there are more."""
    rows = list(query.limit(limit + 1))
    return rows[:limit], len(rows) > limit
