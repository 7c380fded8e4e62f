"""Lists of interviews: keyset pages of what a caller may see, compiled once per shape."""
from __future__ import annotations

from datetime import UTC, datetime

from db.models import SEEN_VIA, WITH_PEOPLE, Interview, InterviewMember, User, attach_members
from db.prepared import Prepared

INSTANT_FILTERS = ("start_from", "start_to", "updated_since")
PAGE_QUERIES: dict[tuple, Prepared] = {}  # the list query compiled once per shape
MAX_PAGE_SHAPES = 1024


def page_of_interviews(caller: User, filters: dict, after: tuple[datetime, int] | None,
                       limit: int) -> tuple[list[Interview], bool]:
    """Up to `limit` visible interviews after the keyset `after`, by (start_at, id); more?

    The query (`interviews_query`) is built and compiled to SQL once per shape: the caller's
    role, which filters (and how many statuses), whether there is a keyset; then re-run with
    this request's values.
    """
    keys = sorted(filters)
    shape = (caller.role, after is not None,
             *((key, len(filters[key]) if key == "status" else 0) for key in keys))
    prepared = PAGE_QUERIES.get(shape)
    if prepared is None:
        if len(PAGE_QUERIES) >= MAX_PAGE_SHAPES:
            PAGE_QUERIES.clear()
        prepared = PAGE_QUERIES[shape] = page_query(caller.role, after is not None,
                                                    {key: filters[key] for key in keys})
    values: list = [caller.id]
    for key in keys:
        values.extend(filters[key] if key == "status" else (filters[key],))
    rows = prepared(*values, *(after or ()), limit + 1)
    attach_members(rows[:limit])
    return rows[:limit], len(rows) > limit


def page_query(role: str, keyset: bool, filters: dict) -> Prepared:
    """The list query of one shape, with a marker in place of every value (in the order
    `page_of_interviews` passes them: caller, filters by name, keyset, limit)."""
    ints = iter(range(-9_000_000_000_000_100, -9_000_000_000_000_200, -1))
    times = iter(datetime(1000, 1, 1, microsecond=n, tzinfo=UTC) for n in range(100, 200))
    texts = iter(f"\x00page-marker-{n}" for n in range(100))
    caller = User(id=next(ints), role=role)
    markers: list = [caller.id]
    marked: dict = {}
    for key, value in filters.items():
        if key == "status":
            marked[key] = [next(texts) for _ in value]
            markers.extend(marked[key])
            continue
        marked[key] = next(times if key in INSTANT_FILTERS else ints if isinstance(value, int)
                           else texts)
        markers.append(marked[key])
    after = (next(times), next(ints)) if keyset else None
    markers.extend([*(after or ()), next(ints)])
    return Prepared(lambda *m: interviews_query(User(id=m[0], role=role), marked, after)
                    .limit(m[-1]), *markers, links=WITH_PEOPLE)


LISTED = InterviewMember.alias("listed")  # the member row an `interviewer_id` filter names


def interviews_query(caller: User, filters: dict, after: tuple[datetime, int] | None):
    """The list query: visible, filtered, after the keyset, in (start_at, id) order.

    `interviewer_id` matches the lead or any member. A list of one interviewer's interviews
    (that filter, or an interviewer's own) walks their member rows, which carry the
    interview's start, id and status: the page is read in order from that person's index
    and stops at `limit`, whatever their history's size."""
    query = Interview.visible_to(caller)
    start, order_id, status = Interview.start_at, Interview.id, Interview.status
    if "interviewer_id" in filters:
        query = (query.switch(Interview).join(LISTED, on=(LISTED.interview == Interview.id))
                 .where(LISTED.interviewer == filters["interviewer_id"]))
        start, order_id, status = LISTED.start_at, LISTED.interview, LISTED.status
    elif caller.role == "interviewer":
        start, order_id, status = SEEN_VIA.start_at, SEEN_VIA.interview, SEEN_VIA.status
    if filters.get("status"):
        query = query.where(status.in_(filters["status"]))
    if "kind" in filters:
        query = query.where(Interview.kind == filters["kind"])
    if "interviewee_id" in filters:
        query = query.where(Interview.interviewee == filters["interviewee_id"])
    if "loop_id" in filters:
        query = query.where(Interview.loop == filters["loop_id"])
    if "start_from" in filters:
        query = query.where(start >= filters["start_from"])
    if "start_to" in filters:
        query = query.where(start < filters["start_to"])
    if "updated_since" in filters:
        query = query.where(Interview.updated_at >= filters["updated_since"])
    if after is not None:
        start_at, last_id = after
        query = query.where((start > start_at) | ((start == start_at) & (order_id > last_id)))
    return query.order_by(start, order_id)
