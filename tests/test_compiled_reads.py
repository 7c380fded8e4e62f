"""Reads compiled to SQL once (db.prepared) find exactly what peewee's freshly built query
finds: the person-held seats every booking asks about, the interviewer every booking loads,
and the webhooks every change is delivered to."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from db import holds, outbox, scheduling
from db.fields import utcnow
from db.models import INTERVIEWEE_SIDE, INTERVIEWER_SIDE, MAX_DURATION
from tests.helpers.booking import book, iso
from tests.helpers.holds import place
from tests.helpers.people import make_interviewee, make_user
from tests.helpers.webhooks import subscribe

BASE = datetime(2041, 6, 1, 9, tzinfo=UTC)


def test_compiled_seat_query_finds_what_the_built_one_finds(client, people, db):
    interviewers = [make_user("interviewer") for _ in range(3)]
    candidates = [make_interviewee(people.driver) for _ in range(3)]
    rng = random.Random(11)
    made = []
    for n in range(12):  # holds of 1-2 interviewers and a candidate, at hours of one day
        start = BASE + timedelta(minutes=30 * n)
        ids = [p.id for p in rng.sample(interviewers, rng.randint(1, 2))]
        held = place(client, people, candidates[n % 3].id,
                     [(start, start + timedelta(minutes=45), ids)], ttl_seconds=rng.choice(
                         [30, 900]))
        if held.status_code == 201:
            made.append(held.json()["hold"]["id"])
    assert len(made) >= 4
    holds.seats_compiled.cache_clear()
    found = 0
    for _ in range(60):
        people_asked = [(INTERVIEWER_SIDE, p.id) for p in rng.sample(interviewers,
                                                                     rng.randint(1, 3))]
        if rng.random() < 0.7:
            people_asked.append((INTERVIEWEE_SIDE, rng.choice(candidates).id))
        start = BASE + timedelta(minutes=15 * rng.randrange(30))
        end = start + timedelta(minutes=rng.choice([15, 30, 90]))
        now = utcnow() + timedelta(seconds=rng.choice([0, 60, 3600]))
        exclude = rng.choice([None, *made])
        got = holds.seats_near(people_asked, start, end, now, exclude)
        want = list(holds.seats_query(people_asked, end, start - MAX_DURATION, start, now,
                                      exclude))
        assert sorted(got) == sorted(want), (people_asked, start, end, exclude)
        found += bool(got)
    assert found >= 10  # the cases meet held seats, not only empty answers


def test_compiled_interviewer_query_finds_what_the_built_one_finds(people, db):
    for user in (people.interviewer, people.coordinator, people.driver):
        for _ in range(2):  # the second run uses the compiled query
            got = scheduling.INTERVIEWER_BY_ID(user.id)
            want = list(scheduling.interviewer_query(user.id))
            assert [(u.id, u.role, u.title) for u in got] == [(u.id, u.role, u.title)
                                                              for u in want]
    assert scheduling.INTERVIEWER_BY_ID(people.interviewer.id)[0].id == people.interviewer.id
    assert scheduling.INTERVIEWER_BY_ID(people.coordinator.id) == []


def test_compiled_webhook_query_finds_what_the_built_one_finds(client, people, db,
                                                               no_webhooks):
    for who in (people.coordinator, people.driver, people.other_driver, people.interviewer,
                people.other_interviewer):
        subscribe(client, people, who)
    mine = book(client, people, iso(BASE), iso(BASE + timedelta(minutes=30)))
    others = book(client, people, iso(BASE), iso(BASE + timedelta(minutes=30)),
                  interviewer_id=people.other_interviewer.id,
                  interviewee_id=people.other_interviewee.id)
    for interview_id in (mine["id"], others["id"], mine["id"]):
        got = outbox.HOOKS_SEEING(interview_id)
        want = list(outbox.hooks_seeing(interview_id))
        assert [(h.id, h.user.id) for h in got] == [(h.id, h.user.id) for h in want]
        assert len(got) == 3  # the coordinator's, and one on each side


def test_compiled_overlap_query_finds_what_the_built_one_finds(client, people, db):
    from db import models
    from db.models import InterviewMember, overlapping_rows

    crew = [make_user("interviewer") for _ in range(3)]
    made = []
    for n in range(10):  # interviews of one or two of them, some on panels, 40 minutes apart
        start = BASE + timedelta(days=5, minutes=40 * n)
        lead, *panel = [p.id for p in crew[n % 3:n % 3 + 1 + n % 2]]
        made.append(book(client, people, iso(start), iso(start + timedelta(minutes=30)),
                         interviewer_id=lead, interviewee_id=make_interviewee(people.driver).id,
                         panel=[{"interviewer_id": i, "role": "panelist"} for i in panel])["id"])
    models.overlapping_compiled.cache_clear()
    rng = random.Random(5)
    found = 0
    for _ in range(60):
        ids = [p.id for p in rng.sample(crew, rng.randint(1, 3))]
        start = BASE + timedelta(days=5, minutes=10 * rng.randrange(40))
        end = start + timedelta(minutes=rng.choice([10, 30, 60]))
        exclude = rng.choice([None, *made])
        got = overlapping_rows(ids, start, end, exclude)
        want = list(InterviewMember.overlapping_query(ids, start, end, exclude))
        assert sorted(got) == sorted(want), (ids, start, end, exclude)
        found += bool(got)
    assert found >= 10


def test_compiled_schedule_query_finds_what_the_built_one_finds(client, people, db):
    from db import schedules

    crew = [make_user("interviewer") for _ in range(4)]
    for person in crew[::2]:  # two with a schedule, two without
        put = client.put(f"/api/v1/interviewers/{person.id}/schedule",
                         headers=people.auth(people.coordinator), json={"schedule": {
                             "time_zone": "Europe/London", "working_hours": None,
                             "buffer_minutes": 5, "daily_limit": 3,
                             "minimum_notice_minutes": 0}})
        assert put.status_code == 200, put.text
    schedules.schedules_compiled.cache_clear()
    rng = random.Random(3)
    for _ in range(20):
        ids = [p.id for p in rng.sample(crew, rng.randint(1, 4))]
        got = [(row.interviewer_id, row.version) for row in schedules.schedules_of(ids)]
        want = [(row.interviewer_id, row.version) for row in schedules.schedules_query(ids)]
        assert sorted(got) == sorted(want) and set(dict(got)) <= {p.id for p in crew[::2]}
    assert len(schedules.schedules_of([p.id for p in crew])) == 2
    ids = [p.id for p in crew]  # built by db.prepared.Rows as peewee builds them
    assert sorted(built(r) for r in schedules.schedules_of(ids)) == sorted(
        built(r) for r in schedules.schedules_query(ids))


def built(model) -> tuple:
    """A model as data: its class, its field values, and the models joined onto it."""
    rel = getattr(model, "__rel__", {})
    return (type(model).__name__, sorted(model.__data__.items(), key=lambda kv: kv[0]),
            sorted(model._dirty), {name: built(joined) for name, joined in sorted(rel.items())})


def peewee_built(prepared, *values) -> list:
    """The same compiled read with its rows built by peewee's own cursor wrapper."""
    from db.prepared import Prepared

    return Prepared(prepared.build, *prepared.markers)(*values)


def test_rows_build_the_models_peewee_builds(client, people, db, no_webhooks):
    """Every read whose rows db.prepared.Rows builds (the caller, one interview, a page,
    the members) gives models equal to peewee's: fields, conversions, joins, nothing dirty."""
    from db import listing
    from db.models import members_compiled, overlap_query
    from handlers.platform.auth import CALLER

    made = [book(client, people, iso(BASE + timedelta(hours=n)),
                 iso(BASE + timedelta(hours=n, minutes=30)),
                 panel=[{"interviewer_id": people.other_interviewer.id, "role": "panelist"}]
                 if n % 2 else [])["id"] for n in range(4)]
    edited = client.post(f"/api/v1/interviews/{made[0]}/amendment",
                         headers=people.auth(people.driver), json={"amendment": {
                             "start_at": iso(BASE + timedelta(days=1)),
                             "end_at": iso(BASE + timedelta(days=1, minutes=30))}})
    assert edited.status_code == 200, edited.text  # amend_* and amended_by set on one row
    checked = 0
    for who in (people.coordinator, people.interviewer, people.other_interviewer, people.driver):
        for interview_id in made:
            prepared = scheduling.VISIBLE_BY_ID[who.role]
            got = prepared(who.id, interview_id)
            assert [built(r) for r in got] == [built(r) for r in peewee_built(
                prepared, who.id, interview_id)]
            checked += len(got)
        for filters in ({}, {"status": ["pending"]}, {"interviewer_id": people.interviewer.id}):
            listing.page_of_interviews(who, filters, None, 25)  # compiles this shape
            shape = next(s for s, p in listing.PAGE_QUERIES.items() if s[0] == who.role
                         and [k for k, _ in s[2:]] == sorted(filters))
            values = [who.id, *(filters.get("status") or ()),
                      *(v for k, v in sorted(filters.items()) if k != "status"), 26]
            assert [built(r) for r in listing.PAGE_QUERIES[shape](*values)] == [
                built(r) for r in peewee_built(listing.PAGE_QUERIES[shape], *values)]
        assert [built(u) for u in CALLER(who.id, "no-such-jti")] == [
            built(u) for u in peewee_built(CALLER, who.id, "no-such-jti")]
    assert checked >= 8
    for who in (people.interviewer, people.coordinator):  # a booking's reads
        assert [built(u) for u in scheduling.INTERVIEWER_BY_ID(who.id)] == [
            built(u) for u in peewee_built(scheduling.INTERVIEWER_BY_ID, who.id)]
    overlap = overlap_query(INTERVIEWER_SIDE)
    span = (people.interviewer.id, BASE + timedelta(hours=5), BASE - timedelta(hours=9),
            BASE - timedelta(minutes=1), -1)
    assert len(overlap(*span)) == 4
    assert [built(r) for r in overlap(*span)] == [built(r) for r in peewee_built(overlap, *span)]
    hooks = [subscribe(client, people, people.coordinator)["id"] for _ in range(2)]
    assert [built(h) for h in outbox.HOOKS_SEEING(made[0])] == [
        built(h) for h in peewee_built(outbox.HOOKS_SEEING, made[0])]
    assert {h.id for h in outbox.HOOKS_SEEING(made[0])} >= set(hooks)
    members = members_compiled(len(made))
    assert [built(m) for m in members(*made)] == [built(m) for m in peewee_built(members, *made)]
    assert len(members(*made)) == 6  # the lead of each, and two panelists


def test_rows_refuse_a_link_the_query_does_not_have():
    import pytest

    from db.models import Interview
    from db.prepared import Rows

    with pytest.raises(ValueError, match="interviewee of Interview"):
        Rows(Interview.with_people(), ((1, "interviewee", 0),))  # the second source is a User
