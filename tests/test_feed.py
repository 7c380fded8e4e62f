"""The change feed: order, visibility, types, paging, and no missed or repeated event."""
from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest

from tests.helpers.booking import book, interview_body, slot
from tests.helpers.people import People
from tests.helpers.servers import serving

FEED = "/api/v1/events"


def poll(client, headers, after: str | None = None, **params) -> dict:
    query = {**params, **({"after": after} if after else {})}
    response = client.get(FEED, params=query, headers=headers)
    assert response.status_code == 200, response.text
    page = response.json()
    assert isinstance(page["next_cursor"], str) and page["next_cursor"]
    return page


def drain(client, headers, after: str | None = None, until=lambda events: True,
          timeout: float = 15, **params) -> tuple[list[dict], str]:
    """Poll from `after` until a page is not full and `until(events)` holds; (events, cursor).

    On PostgreSQL an event shows once every older writer has ended, anywhere on the server,
    so a test waits for what it expects rather than trusting one poll.
    """
    events, deadline = [], time.monotonic() + timeout
    limit = params.pop("limit", 100)
    while True:
        page = poll(client, headers, after, limit=limit, **params)
        events += page["events"]
        after = page["next_cursor"]
        if len(page["events"]) < limit and until(events):
            return events, after
        assert time.monotonic() < deadline, f"the feed did not deliver in time: {events[-5:]}"
        if len(page["events"]) < limit:
            time.sleep(0.05)


def head(client, headers) -> str:
    """A cursor at the end of the feed as `headers`' caller sees it now."""
    return drain(client, headers)[1]


def of(events: list[dict], *interviews: dict) -> list[dict]:
    ids = {i["id"] for i in interviews}
    return [e for e in events if e["interview_id"] in ids]


def act(client, people: People, interview: dict, path: str, who, **kwargs) -> dict:
    response = client.post(f"/api/v1/interviews/{interview['id']}/{path}", headers=people.auth(who),
                           **kwargs)
    assert response.status_code == 200, response.text
    return response.json()["interview"]


def test_feed_has_every_change_in_order_as_in_the_history(client, people):
    coordinator = people.auth(people.coordinator)
    start = head(client, coordinator)
    interview = book(client, people)
    act(client, people, interview, "confirm", people.driver)
    new_start, new_end = slot()
    act(client, people, interview, "amendment", people.driver,
        json={"amendment": {"start_at": new_start, "end_at": new_end}})
    act(client, people, interview, "amendment/accept", people.interviewer)
    act(client, people, interview, "cancel", people.interviewer, json={"reason": "ill"})
    events, _ = drain(client, coordinator, start, until=lambda e: len(of(e, interview)) == 5)
    mine = of(events, interview)
    assert [e["type"] for e in mine] == [
        "interview.created", "interview.confirmed", "interview.amendment_proposed",
        "interview.amendment_accepted", "interview.cancelled"]
    history = client.get(f"/api/v1/interviews/{interview['id']}/events", headers=coordinator).json()
    assert [{k: v for k, v in e.items() if k not in ("interview_id", "type")} for e in mine] \
        == history["events"]
    assert {e["interview_id"] for e in mine} == {interview["id"]}
    assert mine[-1]["reason"] == "ill" and mine[-1]["actor_id"] == people.interviewer.id


def test_a_driver_never_sees_another_drivers_events(client, people):
    mine = book(client, people)
    theirs = book(client, people, interviewee_id=people.other_interviewee.id)
    act(client, people, theirs, "confirm", people.other_driver)
    driver_events, _ = drain(client, people.auth(people.driver), until=lambda e: of(e, mine))
    assert {e["interview_id"] for e in driver_events} == {mine["id"]}
    other_events, _ = drain(client, people.auth(people.other_driver),
                            until=lambda e: len(of(e, theirs)) == 2)
    assert {e["interview_id"] for e in other_events} == {theirs["id"]}


def test_an_interviewer_sees_only_their_interviews(client, people):
    mine = book(client, people)
    theirs = book(client, people, interviewer_id=people.other_interviewer.id,
                  interviewee_id=people.other_interviewee.id)
    events, _ = drain(client, people.auth(people.interviewer), until=lambda e: of(e, mine))
    assert {e["interview_id"] for e in events} == {mine["id"]}
    events, _ = drain(client, people.auth(people.other_interviewer), until=lambda e: of(e, theirs))
    assert {e["interview_id"] for e in events} == {theirs["id"]}


def test_type_filter_keeps_only_those_types(client, people):
    driver = people.auth(people.driver)
    confirmed = act(client, people, book(client, people), "confirm", people.driver)
    declined = act(client, people, book(client, people), "decline", people.driver)
    events, _ = drain(client, driver, type=["interview.confirmed", "interview.declined"],
                      until=lambda e: len(e) == 2)
    assert [(e["interview_id"], e["type"], e["action"]) for e in events] == [
        (confirmed["id"], "interview.confirmed", "confirm"),
        (declined["id"], "interview.declined", "decline")]


def test_pages_of_one_add_up_to_the_whole_feed_once(client, people):
    driver = people.auth(people.driver)
    for _ in range(3):
        act(client, people, book(client, people), "confirm", people.driver)
    whole, _ = drain(client, driver, until=lambda e: len(e) == 6)
    paged, after = [], None
    for _ in range(20):
        page = poll(client, driver, after, limit=1)
        paged += page["events"]
        after = page["next_cursor"]
        if not page["events"]:
            break
    assert [e["id"] for e in paged] == [e["id"] for e in whole]
    assert len({e["id"] for e in whole}) == 6


def test_an_empty_page_answers_a_cursor_that_resumes_there(client, people):
    driver = people.auth(people.driver)
    page = poll(client, driver)
    assert page["events"] == []
    again = poll(client, driver, page["next_cursor"])
    assert again["events"] == []
    interview = book(client, people)
    events, _ = drain(client, driver, again["next_cursor"], until=lambda e: of(e, interview))
    assert [e["type"] for e in events] == ["interview.created"]


def cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("after", [
    "garbage!", "bm90IGpzb24", cursor([1, 2, 3]), cursor(["1", 2]), cursor([True, 2]),
    cursor([2**63, 1]), cursor([-1, 1]), cursor({"t": 1}), cursor(["2031-01-01T00:00:00", 5, "ab"]),
])
def test_a_cursor_this_api_did_not_issue_is_400(client, people, after):
    response = client.get(FEED, params={"after": after}, headers=people.auth(people.driver))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_cursor"


def test_unknown_type_and_bad_limit_are_400(client, people):
    for params in ({"type": "interview.exploded"}, {"limit": 0}, {"limit": 101}):
        response = client.get(FEED, params=params, headers=people.auth(people.driver))
        assert response.status_code == 400, (params, response.text)


def test_without_a_token_is_401(client):
    assert client.get(FEED).status_code == 401


@pytest.fixture(scope="module")
def server(app, database_url):
    with serving(database_url, workers=2) as (base, _process):
        yield base


def test_a_consumer_polling_during_concurrent_writes_gets_each_event_once(server, people):
    """Writers in several threads and two server processes; a consumer polls all along."""
    coordinator = people.auth(people.coordinator)
    done = threading.Event()
    with httpx.Client(base_url=server, timeout=30) as http:
        start = drain(http, coordinator)[1]

        def write(n: int) -> int:
            created = http.post("/api/v1/interviews", headers=coordinator,
                                json=interview_body(people, *slot(),
                                                    interviewer_id=people.interviewer.id))
            assert created.status_code in (200, 409), created.text
            if created.status_code != 200:
                return 0
            interview_id = created.json()["interview"]["id"]
            confirmed = http.post(f"/api/v1/interviews/{interview_id}/confirm",
                                  headers=people.auth(people.driver))
            assert confirmed.status_code == 200, confirmed.text
            return interview_id

        seen: list[dict] = []

        def consume() -> None:
            after = start
            while not done.is_set():
                page = poll(http, coordinator, after, limit=7)
                seen.extend(page["events"])
                after = page["next_cursor"]
            seen.extend(drain(http, coordinator, after, limit=7,
                              until=lambda e: len(of(seen + e, *made)) >= 2 * len(made))[0])

        made: list[dict] = []
        consumer = threading.Thread(target=consume)
        consumer.start()
        try:
            with ThreadPoolExecutor(max_workers=8) as pool:
                made = [{"id": i} for i in pool.map(write, range(40)) if i]
        finally:
            done.set()
            consumer.join(timeout=60)
    mine = of(seen, *made)
    counts = Counter(e["id"] for e in mine)
    print(f"\nfeed under load: {len(made)} interviews, {len(mine)} events seen, "
          f"{sum(c - 1 for c in counts.values())} repeated")
    assert len(made) == 40
    assert all(c == 1 for c in counts.values()), "an event was handed out twice"
    assert len(mine) == 80, "an event was missed"
    for interview in made:  # each interview's events in its history's order
        assert [e["type"] for e in of(mine, interview)] == ["interview.created",
                                                            "interview.confirmed"]


def test_a_writer_that_commits_late_is_not_skipped(client, people, database_url):
    """Hold a transaction open after its insert while a later one commits: the feed waits for
    it, then hands out both, the held one first, each exactly once."""
    coordinator = people.auth(people.coordinator)
    held_on = book(client, people)
    later_on = book(client, people)
    start = head(client, coordinator)
    insert = ("INSERT INTO event (interview_id, actor_id, action, changes, at) "
              f"VALUES ({held_on['id']}, {people.coordinator.id}, 'edit', '{{}}', "
              "'2031-01-01T00:00:00+00:00') RETURNING id")
    if database_url.startswith("sqlite"):
        # SQLite serializes writers: no later writer can commit meanwhile. Check that a
        # reader never sees, nor skips, a write that is not yet committed.
        raw = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        raw.execute("BEGIN IMMEDIATE")
        held_id = raw.execute(insert).fetchone()[0]
        later_id = None
    else:
        raw = psycopg.connect(database_url)  # a transaction begins with the first statement
        held_id = raw.execute(insert).fetchone()[0]
        later_id = act(client, people, later_on, "confirm", people.driver) and client.get(
            f"/api/v1/interviews/{later_on['id']}/events",
            headers=coordinator).json()["events"][-1]["id"]
        assert later_id > held_id
    try:
        blocked, middle = drain(client, coordinator, start)
        seen_ids = {e["id"] for e in blocked}
        assert held_id not in seen_ids and later_id not in seen_ids, \
            "an event committed after an open writer's was handed out before it"
    finally:
        raw.commit() if not isinstance(raw, sqlite3.Connection) else raw.execute("COMMIT")
        raw.close()
    wanted = {held_id} | ({later_id} if later_id else set())
    events, _ = drain(client, coordinator, middle, until=lambda e: wanted <= {x["id"] for x in e})
    ids = [e["id"] for e in events]
    assert ids.count(held_id) == 1
    if later_id:
        assert ids.count(later_id) == 1 and ids.index(held_id) < ids.index(later_id)


@pytest.mark.parametrize("who", ["coordinator", "interviewer", "driver"])
def test_feed_query_seeks_an_index_from_the_cursor(people, db, who):
    """A poll costs the page, not the history before the cursor (flat as the table grows)."""
    from peewee import SqliteDatabase

    from db.feed import between, visible_events
    from db.models import Event
    from tests.helpers.plans import plan

    query = visible_events(getattr(people, who)).where(between((0, 5), (0, 10**9))) \
        .order_by(Event.txid, Event.id)
    text = plan(db, query)
    if isinstance(db.obj, SqliteDatabase):
        assert ("INDEX event_feed (txid=? AND id>? AND id<?)" in text
                or "INDEX event_interview_feed "
                   "(interview_id=? AND txid=? AND id>? AND id<?)" in text), text
    else:
        assert ("Seq Scan on event" not in text
                and "ROW(txid, id) >" in text.replace("t1.", "")), text


def test_migration_puts_earlier_history_at_the_start_of_the_feed(tmp_path_factory):
    """Events written before 0006 get txid 0: before every later one, after the first cursor."""
    from peewee import SqliteDatabase
    from playhouse.db_url import connect
    from playhouse.migrations import Runner

    from db.connection import MIGRATIONS
    from db.feed import START
    from tests.helpers.servers import backend_url

    fresh = backend_url(tmp_path_factory)
    scratch = connect(next(fresh))
    try:
        runner = Runner(scratch, directory=str(MIGRATIONS))
        runner.up(target="0002_idempotency_keys")
        rows = [
            """INSERT INTO "user" (id, title, role, updated_at)
               VALUES (1, 'u', 'interviewer', '2030-01-01')""",
            """INSERT INTO interviewee (id, driver_id, kind, currency, updated_at)
               VALUES (2, 1, 'interview', 'GBP', '2030-01-01')""",
            ("""INSERT INTO interview (id, kind, status, start_at, end_at, interviewee_id,
               interviewer_id, version, created_at, updated_at) VALUES (3, 'phone_call',
               'pending', '2030-01-01 09:00', '2030-01-01 10:00', 2, 1, 1, """
             "'2030-01-01', '2030-01-01')"),
            """INSERT INTO event (interview_id, actor_id, action, changes, at)
               VALUES (3, 1, 'create', '{}', '2030-01-01')""",
        ]
        for sql in rows:
            scratch.execute_sql(sql)
        runner.up()
        with scratch.atomic():
            scratch.execute_sql(rows[-1])
        (old_txid, old_id), (new_txid, new_id) = scratch.execute_sql(
            "SELECT txid, id FROM event ORDER BY id").fetchall()
        assert (old_txid, old_id) > START and old_txid == 0
        if isinstance(scratch, SqliteDatabase):
            assert new_txid == 0
        else:
            assert new_txid > 0, "a new event carries its transaction's id"
        assert (old_txid, old_id) < (new_txid, new_id)
    finally:
        scratch.close()
        next(fresh, None)


def test_every_history_action_has_an_event_type_and_the_spec_lists_them():
    from pathlib import Path

    import yaml

    from db.events import EVENT_TYPES
    from db.models import ACTION_SIDES

    spec = yaml.safe_load((Path(__file__).resolve().parent.parent / "openapi.yaml").read_text())
    schemas = spec["components"]["schemas"]
    # create, every action on an interview, and a scheduling request booking it
    assert set(EVENT_TYPES) == {"create", "book_request", *ACTION_SIDES} == set(
        schemas["EventAction"]["enum"])
    assert sorted(EVENT_TYPES.values()) == sorted(schemas["EventType"]["enum"])
