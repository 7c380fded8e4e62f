"""Listing: filters, visibility and keyset pagination."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from db.models import Interview, InterviewMember
from tests.helpers.booking import book, bring_to, slot
from tests.helpers.people import make_interviewee, make_user


def list_all(client, headers, **params) -> list[dict]:
    """Follow next_cursor to the end; return every interview seen, in order."""
    seen, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/interviews", params=query, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += page["interviews"]
        cursor = page["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers
            return seen
        assert response.headers["link"].endswith('rel="next"')


def test_paging_250_with_limit_7_returns_each_once(client, people, db):
    base = datetime(2033, 1, 1, tzinfo=UTC)
    # Pairs share a start_at, so the id tie-break of the keyset is exercised too.
    Interview.insert_many([
        {"kind": "phone_call", "status": "pending", "interviewer": make_user("interviewer").id,
         "interviewee": make_interviewee(people.driver).id,
         "start_at": base + timedelta(hours=i // 2),
         "end_at": base + timedelta(hours=i // 2, minutes=30), "version": 1, "created_at": base,
         "updated_at": base}
        for i in range(250)
    ]).execute()
    seen = list_all(client, people.auth(people.driver), limit=7)
    ids = [i["id"] for i in seen]
    assert len(ids) == 250 and len(set(ids)) == 250
    keys = [(i["start_at"], i["id"]) for i in seen]
    assert keys == sorted(keys)


def test_link_header_points_at_the_next_page(client, people):
    for _ in range(3):
        book(client, people)
    response = client.get("/api/v1/interviews",
                          params={"limit": 2, "interviewer_id": people.interviewer.id},
                          headers=people.auth(people.interviewer))
    link = response.headers["link"]
    url = link[link.index("<") + 1:link.index(">")]
    query = parse_qs(urlsplit(url).query)
    assert query["cursor"] == [response.json()["next_cursor"]] and query["limit"] == ["2"]
    nxt = client.get(url, headers=people.auth(people.interviewer))
    assert len(nxt.json()["interviews"]) == 1


def test_filters(client, people):
    pending = book(client, people)
    confirmed = bring_to(client, people, book(client, people, kind="phone_call", location=None),
                         "confirmed")
    cancelled = bring_to(client, people, book(client, people), "cancelled")
    headers = people.auth(people.interviewer)

    def ids(**params):
        found = list_all(client, headers, interviewer_id=people.interviewer.id, **params)
        return {i["id"] for i in found}

    assert ids() == {pending["id"], confirmed["id"], cancelled["id"]}
    assert ids(status=["pending", "confirmed"]) == {pending["id"], confirmed["id"]}
    assert ids(status="cancelled") == {cancelled["id"]}
    assert ids(kind="phone_call") == {confirmed["id"]}
    every = {pending["id"], confirmed["id"], cancelled["id"]}
    assert ids(interviewee_id=people.interviewee.id) == every
    assert ids(start_from=confirmed["start_at"], start_to=cancelled["start_at"]) \
        == {confirmed["id"]}
    assert ids(updated_since=cancelled["updated_at"]) == {cancelled["id"]}


def test_each_caller_sees_only_their_own(client, people):
    mine = book(client, people)
    other = book(client, people, interviewee_id=people.other_interviewee.id,
                 interviewer_id=people.other_interviewer.id)
    for who, expected in [("interviewer", {mine["id"]}), ("other_interviewer", {other["id"]}),
                          ("driver", {mine["id"]}), ("other_driver", {other["id"]})]:
        seen = {i["id"] for i in list_all(client, people.auth(getattr(people, who)))}
        assert seen == expected, who
    coordinator_sees = {i["id"] for i in list_all(client, people.auth(people.coordinator),
                                                  interviewer_id=people.other_interviewer.id)}
    assert coordinator_sees == {other["id"]}


@pytest.mark.parametrize("params", [{}, {"interviewer_id": "{interviewer}"},
                                    {"interviewee_id": "{interviewee}"}, {"status": "pending"}])
def test_stranger_sees_nothing_whatever_the_filter(client, people, params):
    book(client, people)
    stranger = make_user("interviewer")
    params = {k: v.format(interviewer=people.interviewer.id, interviewee=people.interviewee.id)
              for k, v in params.items()}
    assert list_all(client, people.auth(stranger), **params) == []


def test_cursor_from_another_query_is_400(client, people):
    for _ in range(3):
        book(client, people)
    headers = people.auth(people.interviewer)
    first = client.get("/api/v1/interviews", params={"limit": 1, "status": "pending"},
                       headers=headers)
    cursor = first.json()["next_cursor"]
    response = client.get("/api/v1/interviews",
                          params={"limit": 1, "status": "confirmed", "cursor": cursor},
                          headers=headers)
    assert response.status_code == 400 and response.json()["code"] == "invalid_cursor"
    # The limit may change between pages; the filters may not.
    assert client.get("/api/v1/interviews",
                      params={"limit": 5, "status": "pending", "cursor": cursor},
                      headers=headers).status_code == 200


@pytest.mark.parametrize("cursor", ["garbage", "e30", "WzEsMiwzXQ", "!!!"])
def test_garbage_cursor_is_400(client, people, cursor):
    response = client.get("/api/v1/interviews", params={"cursor": cursor},
                          headers=people.auth(people.driver))
    assert response.status_code == 400


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"status": "done"}, {"kind": "x"},
                                    {"start_from": "yesterday"}, {"unknown": "1"}])
def test_bad_parameters_are_400(client, people, params):
    response = client.get("/api/v1/interviews", params=params, headers=people.auth(people.driver))
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_default_limit_is_25(client, people, db):
    for _ in range(27):
        start, end = slot()
        Interview.create(kind="phone_call", status="pending", interviewer=people.interviewer,
                         interviewee=people.interviewee, start_at=datetime.fromisoformat(start),
                         end_at=datetime.fromisoformat(end), version=1)
    page = client.get("/api/v1/interviews", headers=people.auth(people.driver)).json()
    assert len(page["interviews"]) == 25 and page["next_cursor"]


def test_compiled_page_query_finds_what_the_built_query_finds(client, people, db):
    """page_of_interviews runs the list query compiled once per shape; for every shape it
    must find exactly the rows peewee's freshly built query finds, with any values."""
    from db import listing
    from db.listing import interviews_query, page_of_interviews

    base = datetime(2034, 3, 1, tzinfo=UTC)
    interviewers = [make_user("interviewer") for _ in range(2)]
    Interview.insert_many([
        {"kind": ("phone_call", "video_call")[i % 2],
         "status": ("pending", "confirmed", "declined")[i % 3],
         "interviewer": interviewers[i % 2].id, "interviewee": make_interviewee(people.driver).id,
         "start_at": base + timedelta(hours=i // 2),
         "end_at": base + timedelta(hours=i // 2, minutes=30),
         "version": 1, "created_at": base, "updated_at": base + timedelta(minutes=i)}
        for i in range(24)
    ]).execute()
    # A third interviewer sits on the panel of every other interview of the second.
    member = make_user("interviewer")
    seated = Interview.select().where(Interview.interviewer == interviewers[1].id,
                                      Interview.start_at >= base).order_by(Interview.start_at)
    InterviewMember.insert_many([
        {"interview": row.id, "interviewer": member.id, "role": "panelist", "position": 1,
         "response": "accepted", "status": row.status, "start_at": row.start_at,
         "end_at": row.end_at} for row in list(seated)[::2]]).execute()
    listing.PAGE_QUERIES.clear()
    cases = [
        ({}, None),
        ({"status": ["pending"]}, None),
        ({"status": ["confirmed", "declined"], "kind": "video_call"},
         (base + timedelta(hours=2), 0)),
        ({"interviewer_id": interviewers[1].id, "start_from": base + timedelta(hours=3),
          "start_to": base + timedelta(hours=8)}, None),
        ({"updated_since": base + timedelta(minutes=5),
          "status": ["pending", "confirmed", "declined"]}, (base + timedelta(hours=4), 2**40)),
        ({"interviewer_id": member.id, "status": ["pending", "confirmed"]}, None),
    ]
    for who in (people.coordinator, people.driver, interviewers[0], member):
        for filters, after in cases:
            for limit in (3, 50):
                for variant in range(2):  # the second run of a shape uses the compiled query
                    got, more = page_of_interviews(who, filters, after, limit)
                    want = list(interviews_query(who, filters, after).limit(limit + 1))
                    assert [r.id for r in got] == [r.id for r in want[:limit]], (filters, variant)
                    assert more == (len(want) > limit)
                    assert all(r.interviewer.id and r.interviewee.driver.id for r in got)
    assert len(listing.PAGE_QUERIES) == 3 * len(cases)  # the two interviewers share shapes
    assert {r.id for r in page_of_interviews(member, {}, None, 50)[0]} \
        == {row.id for row in list(seated)[::2]}


def test_compiled_members_query_finds_what_the_built_query_finds(client, people, db):
    """attach_members runs the members query compiled once per number of ids; with any ids,
    in any order, it finds exactly the rows (and users) peewee's freshly built query finds."""
    import random

    from db import models
    from db.models import members_of, members_query

    base = datetime(2034, 6, 1, tzinfo=UTC)
    panel = [make_user("interviewer") for _ in range(3)]
    made = []
    for n in range(8):  # panels of 0 to 3, lead first, some declined, a shadow
        start = base + timedelta(hours=n)
        made.append(book(client, people, start.isoformat(), (start + timedelta(minutes=30))
                         .isoformat(), panel=[
            {"interviewer_id": p.id, "role": "shadow" if k == 2 else "panelist"}
            for k, p in enumerate(panel[:n % 4])])["id"])
    InterviewMember.update(response="declined").where(
        InterviewMember.interview == made[3], InterviewMember.interviewer == panel[1].id).execute()
    models.members_compiled.cache_clear()
    rng = random.Random(7)
    for _ in range(30):  # counts repeat, so most runs reuse a compiled query
        ids = rng.sample(made, rng.randint(1, len(made))) + [9_000_000_000]  # one unknown id
        got = [(m.interview_id, m.interviewer_id, m.role, m.response, m.interviewer.title)
               for m in members_of(ids)]
        want = [(m.interview_id, m.interviewer_id, m.role, m.response, m.interviewer.title)
                for m in members_query(ids)]
        assert got == want and got
    assert models.members_compiled.cache_info().currsize <= len(made)
    many = made * 13  # over MEMBERS_COMPILED_UP_TO: built each time, same rows
    assert [m.id for m in members_of(many)] == [m.id for m in members_query(many)]
