"""Candidate self-scheduling: a coordinator's offer, read by the candidate's driver, held and
booked once under the coordinator's authority."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from db.fields import iso_utc
from db.models import Event, Interview
from db.webhooks import Delivery
from tests.helpers.booking import interview_body, iso, slot
from tests.helpers.holds import clock_ahead, place
from tests.helpers.people import People, make_interviewee, make_user
from tests.helpers.scheduling_requests import (
    book_option,
    hold_option,
    offer,
    options_of,
    request_body,
)
from tests.helpers.webhooks import subscribe

BASE = datetime(2038, 2, 1, 9, tzinfo=UTC)
days = iter(range(10_000))


class Panel(People):
    """People, plus a pool of two interviewers and a third for a second round."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.pool = [make_user("interviewer", title=f"Pool {n}") for n in range(2)]
        self.second = make_user("interviewer", title="Second round")


@pytest.fixture
def crew(app, settings) -> Panel:
    return Panel(settings)


def taken(client, crew: Panel, interviewer, start: datetime):
    """The interviewer booked at `start` for 30 minutes, with someone else's interviewee."""
    made = client.post("/api/v1/interviews", headers=crew.auth(crew.coordinator),
                       json=interview_body(crew, *slot(start), interviewer_id=interviewer.id,
                                           interviewee_id=make_interviewee(crew.other_driver).id))
    assert made.status_code == 200, made.text


def day() -> datetime:
    return BASE + timedelta(days=next(days))


def one_round(crew: Panel, start: datetime, **fields) -> dict:
    return request_body(crew.interviewee.id, start, [(30, [p.id for p in crew.pool], "any")],
                        hours=2, **fields)


def test_a_coordinator_offers_and_the_driver_and_coordinators_read_it(client, crew: Panel):
    start = day()
    made = client.post("/api/v1/scheduling_requests", json=one_round(crew, start),
                       headers=crew.auth(crew.coordinator))
    assert made.status_code == 201, made.text
    request = made.json()["scheduling_request"]
    assert made.headers["location"] == f"/api/v1/scheduling_requests/{request['id']}"
    assert request["status"] == "open" and request["interview_ids"] == []
    assert request["loop_id"] is None and request["from"] == iso_utc(start)
    assert request["rounds"] == [{"duration_minutes": 30, "mode": "any",
                                  "interviewer_ids": [p.id for p in crew.pool]}]
    for who in (crew.driver, crew.coordinator):
        shown = client.get(f"/api/v1/scheduling_requests/{request['id']}",
                           headers=crew.auth(who))
        assert shown.status_code == 200 and shown.json()["scheduling_request"] == request
    for who in (crew.other_driver, crew.interviewer, crew.pool[0]):
        hidden = client.get(f"/api/v1/scheduling_requests/{request['id']}",
                            headers=crew.auth(who))
        assert hidden.status_code == 404, hidden.text
        assert options_of(client, crew, request["id"], who).status_code == 404


@pytest.mark.parametrize("role", ["interviewer", "driver"])
def test_only_coordinators_make_requests(client, crew: Panel, role):
    who = crew.interviewer if role == "interviewer" else crew.driver
    refused = client.post("/api/v1/scheduling_requests", json=one_round(crew, day()),
                          headers=crew.auth(who))
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


@pytest.mark.parametrize("change, field", [
    ({"expires_at": "2001-01-01T00:00:00Z"}, "scheduling_request.expires_at"),
    ({"gap_minutes": {"min": 30, "max": 10}}, "scheduling_request.gap_minutes.max"),
    ({"kind": "video_call", "location": "a room"}, "location"),
    ({"rounds": [{"duration_minutes": 30, "interviewer_ids": [9_000_000_001]}]},
     "interviewer_id"),
    ({"interviewee_id": 9_000_000_001}, "interviewee_id"),
])
def test_a_bad_request_is_422_naming_the_field(client, crew: Panel, change, field):
    body = one_round(crew, day())
    body["scheduling_request"].update(change)
    refused = client.post("/api/v1/scheduling_requests", json=body,
                          headers=crew.auth(crew.coordinator))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["errors"][0]["field"] == field


def test_options_choose_fairest_first_and_show_names_but_no_commitments(client, crew: Panel):
    start = day()
    busy, idle = crew.pool
    # `busy` has two interviews that day: `idle` is chosen first wherever both are free.
    taken(client, crew, busy, start - timedelta(hours=2))
    taken(client, crew, busy, start - timedelta(hours=1))
    # ... and `idle` one inside the window: that time is offered with `busy` only.
    taken(client, crew, idle, start + timedelta(minutes=60))
    request = offer(client, crew, one_round(crew, start))
    answer = options_of(client, crew, request["id"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"options"}  # no `excluded`: nothing of anyone's other commitments
    options = body["options"]
    assert options and all(len(o["rounds"]) == 1 for o in options)
    by_start = {o["start_at"]: o["rounds"][0] for o in options}
    first = by_start[iso_utc(start)]
    assert first["interviewer_ids"] == [idle.id]
    assert first["interviewers"] == [{"id": idle.id, "title": "Pool 1", "image": None}]
    assert by_start[iso_utc(start + timedelta(minutes=60))]["interviewer_ids"] == [busy.id]
    assert "conflicts" not in json.dumps(body) and "status" not in json.dumps(body)
    assert len(options_of(client, crew, request["id"], limit=3).json()["options"]) == 3


def test_an_all_round_offers_everyone_together(client, crew: Panel):
    start = day()
    request = offer(client, crew, request_body(crew.interviewee.id, start,
                                               [(45, [p.id for p in crew.pool], "all")], hours=1))
    options = options_of(client, crew, request["id"]).json()["options"]
    assert options[0]["rounds"][0]["interviewer_ids"] == [p.id for p in crew.pool]
    held = hold_option(client, crew, request, options[0])
    assert held.status_code == 201, held.text
    booked = book_option(client, crew, request["id"], options[0]["start_at"],
                         held.json()["hold"]["id"])
    assert booked.status_code == 200, booked.text
    interview = Interview.get_by_id(booked.json()["scheduling_request"]["interview_ids"][0])
    assert interview.interviewer_id == crew.pool[0].id
    assert [m.interviewer_id for m in interview.members if m.role == "panelist"] == \
        [crew.pool[1].id]


def test_the_driver_holds_an_option_and_books_it_once(client, crew: Panel, no_webhooks):
    start = day()
    hook = subscribe(client, crew, crew.coordinator, events=["scheduling_request.booked"])
    request = offer(client, crew, one_round(crew, start))
    option = options_of(client, crew, request["id"]).json()["options"][0]
    held = hold_option(client, crew, request, option)
    assert held.status_code == 201, held.text
    hold = held.json()["hold"]
    # Held: the time is no longer offered, to this candidate or anyone.
    again = options_of(client, crew, request["id"]).json()["options"]
    assert all(o["start_at"] != option["start_at"] or
               o["rounds"][0]["interviewer_ids"] != option["rounds"][0]["interviewer_ids"]
               for o in again)

    booked = book_option(client, crew, request["id"], option["start_at"], hold["id"])
    assert booked.status_code == 200, booked.text
    shown = booked.json()["scheduling_request"]
    assert shown["status"] == "booked" and len(shown["interview_ids"]) == 1
    assert shown["loop_id"] is None
    interview = Interview.get_by_id(shown["interview_ids"][0])
    assert (interview.start_at, interview.kind, interview.location) == (
        start, "video_call", "https://zoom.com")
    assert interview.interviewer_id == option["rounds"][0]["interviewer_ids"][0]
    history = list(Event.select().where(Event.interview == interview.id).order_by(Event.id))
    assert [e.action for e in history] == ["create", "book_request"]
    assert all(e.actor_id == crew.driver.id for e in history)
    assert history[0].changes_dict["scheduling_request_id"] == {"from": None,
                                                                "to": request["id"]}
    assert client.get(f"/api/v1/holds/{hold['id']}", headers=crew.auth(crew.driver)
                      ).json()["hold"]["status"] == "used"
    deliveries = list(Delivery.select().where(Delivery.webhook == hook["id"]))
    assert [d.type for d in deliveries] == ["scheduling_request.booked"]
    payload = json.loads(deliveries[0].payload)
    assert payload["data"]["interview"]["id"] == interview.id
    assert payload["data"]["changes"] == {"scheduling_request_id": {"from": None,
                                                                    "to": request["id"]}}
    feed = client.get("/api/v1/events", params={"type": "scheduling_request.booked", "limit": 100},
                      headers=crew.auth(crew.driver)).json()
    assert [e["interview_id"] for e in feed["events"]
            if e["type"] == "scheduling_request.booked"][-1] == interview.id

    second = book_option(client, crew, request["id"], option["start_at"], hold["id"])
    assert second.status_code == 409 and second.json()["code"] == "already_booked"
    assert options_of(client, crew, request["id"]).json()["code"] == "already_booked"


def test_booking_without_a_hold_takes_the_option_offered_now(client, crew: Panel):
    start = day()
    request = offer(client, crew, one_round(crew, start))
    missing = book_option(client, crew, request["id"], iso(start + timedelta(minutes=7)))
    assert missing.status_code == 409 and missing.json()["code"] == "option_unavailable"
    booked = book_option(client, crew, request["id"], iso(start + timedelta(minutes=30)))
    assert booked.status_code == 200, booked.text
    interview = Interview.get_by_id(booked.json()["scheduling_request"]["interview_ids"][0])
    assert interview.start_at == start + timedelta(minutes=30)


def test_a_time_taken_meanwhile_is_refused_and_leaves_the_request_open(client, crew: Panel):
    start = day()
    request = offer(client, crew, request_body(crew.interviewee.id, start,
                                               [(30, [crew.pool[0].id], "any")], hours=1))
    option = options_of(client, crew, request["id"]).json()["options"][0]
    taken(client, crew, crew.pool[0], start)
    held = hold_option(client, crew, request, option)
    assert held.status_code == 409 and held.json()["code"] == "overlap"
    assert book_option(client, crew, request["id"], option["start_at"]).json()["code"] == \
        "option_unavailable"
    still = options_of(client, crew, request["id"]).json()["options"]
    assert still and option["start_at"] not in [o["start_at"] for o in still]


def test_a_request_of_several_rounds_books_a_loop(client, crew: Panel):
    start = day()
    request = offer(client, crew, request_body(
        crew.interviewee.id, start, [(30, [crew.pool[0].id], "any"),
                                     (45, [crew.second.id], "any")], hours=3, gap=(0, 15)))
    option = options_of(client, crew, request["id"]).json()["options"][0]
    assert [r["interviewer_ids"] for r in option["rounds"]] == [[crew.pool[0].id],
                                                                 [crew.second.id]]
    held = hold_option(client, crew, request, option)
    assert held.status_code == 201, held.text
    booked = book_option(client, crew, request["id"], option["start_at"],
                         held.json()["hold"]["id"])
    assert booked.status_code == 200, booked.text
    shown = booked.json()["scheduling_request"]
    assert shown["loop_id"] and len(shown["interview_ids"]) == 2
    loop = client.get(f"/api/v1/loops/{shown['loop_id']}", headers=crew.auth(crew.driver))
    assert [i["id"] for i in loop.json()["loop"]["interviews"]] == shown["interview_ids"]
    actions = [e.action for e in Event.select().where(
        Event.interview.in_(shown["interview_ids"])).order_by(Event.id)]
    assert actions == ["create", "create", "book_request"]


@pytest.mark.parametrize("slots_change, field", [
    (lambda s: [{**s[0], "end_at": iso(datetime.fromisoformat(s[0]["start_at"])
                                       + timedelta(minutes=20))}], "hold.slots[0].end_at"),
    (lambda s: [{**s[0], "interviewer_ids": [9_000_000_001]}], "hold.slots[0].interviewer_ids"),
    (lambda s: s + s, "hold.slots"),
    (lambda s: [{**s[0], "start_at": "2001-01-01T09:00:00Z", "end_at": "2001-01-01T09:30:00Z"}],
     "hold.slots[0].start_at"),
])
def test_a_hold_must_be_an_option_of_the_request(client, crew: Panel, slots_change, field):
    request = offer(client, crew, one_round(crew, day()))
    option = options_of(client, crew, request["id"]).json()["options"][0]
    slots = [{k: r[k] for k in ("start_at", "end_at", "interviewer_ids")}
             for r in option["rounds"]]
    refused = client.post("/api/v1/holds", headers=crew.auth(crew.driver), json={"hold": {
        "interviewee_id": crew.interviewee.id, "scheduling_request_id": request["id"],
        "slots": slots_change(slots)}})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == field


def test_a_driver_holds_nothing_outside_their_requests(client, crew: Panel):
    request = offer(client, crew, one_round(crew, day()))
    option = options_of(client, crew, request["id"]).json()["options"][0]
    for who, code in ((crew.other_driver, 422), (crew.driver, 422)):
        interviewee = crew.interviewee.id if who is crew.driver else crew.other_interviewee.id
        refused = client.post("/api/v1/holds", headers=crew.auth(who), json={"hold": {
            "interviewee_id": crew.other_interviewee.id if who is crew.driver else interviewee,
            "scheduling_request_id": request["id"],
            "slots": [{k: r[k] for k in ("start_at", "end_at", "interviewer_ids")}
                      for r in option["rounds"]]}})
        assert refused.status_code == code, refused.text
    slot = option["rounds"][0]
    plain = place(client, crew, crew.interviewee.id, [(
        datetime.fromisoformat(slot["start_at"]), datetime.fromisoformat(slot["end_at"]),
        slot["interviewer_ids"])], who=crew.driver)
    assert plain.status_code == 403
    assert client.post("/api/v1/interviews", json=interview_body(crew),
                       headers=crew.auth(crew.driver)).status_code == 403


def test_an_expired_request_is_shown_expired_and_refuses_a_book(client, crew: Panel):
    start = day()
    request = offer(client, crew, one_round(crew, start, expires_in=timedelta(hours=1)))
    option = options_of(client, crew, request["id"]).json()["options"][0]
    held = hold_option(client, crew, request, option, ttl_seconds=900)
    assert held.status_code == 201
    with clock_ahead(timedelta(hours=1, seconds=1)):
        shown = client.get(f"/api/v1/scheduling_requests/{request['id']}",
                           headers=crew.auth(crew.driver)).json()["scheduling_request"]
        assert shown["status"] == "expired"
        late = book_option(client, crew, request["id"], option["start_at"])
        assert late.status_code == 409 and late.json()["code"] == "request_expired"
        assert "expired" in late.json()["detail"]
        assert options_of(client, crew, request["id"]).json()["code"] == "request_expired"
    assert not Interview.select().where(Interview.interviewee == crew.interviewee.id).exists()


def test_a_coordinator_withdraws_a_request(client, crew: Panel):
    request = offer(client, crew, one_round(crew, day()))
    path = f"/api/v1/scheduling_requests/{request['id']}/cancel"
    assert client.post(path, headers=crew.auth(crew.driver)).status_code == 403
    assert client.post(path, headers=crew.auth(crew.other_driver)).status_code == 404
    cancelled = client.post(path, headers=crew.auth(crew.coordinator))
    assert cancelled.status_code == 200
    assert cancelled.json()["scheduling_request"]["status"] == "cancelled"
    late = book_option(client, crew, request["id"], request["from"])
    assert late.status_code == 409 and late.json()["code"] == "request_cancelled"

    booked = offer(client, crew, one_round(crew, day()))
    assert book_option(client, crew, booked["id"], booked["from"]).status_code == 200
    refused = client.post(f"/api/v1/scheduling_requests/{booked['id']}/cancel",
                          headers=crew.auth(crew.coordinator))
    assert refused.status_code == 409 and refused.json()["code"] == "already_booked"


def test_another_driver_cannot_book_it(client, crew: Panel):
    request = offer(client, crew, one_round(crew, day()))
    refused = book_option(client, crew, request["id"], request["from"], who=crew.other_driver)
    assert refused.status_code == 404
    assert client.get(f"/api/v1/scheduling_requests/{request['id']}",
                      headers=crew.auth(crew.driver)).json()["scheduling_request"]["status"] \
        == "open"


def test_a_new_hold_lets_the_candidates_earlier_one_go(client, crew: Panel):
    request = offer(client, crew, one_round(crew, day()))
    offered = options_of(client, crew, request["id"]).json()["options"]
    first = offered[0]
    second = next(o for o in offered if o["start_at"] >= first["end_at"])  # apart
    earlier = hold_option(client, crew, request, first).json()["hold"]
    later = hold_option(client, crew, request, second)
    assert later.status_code == 201, later.text
    shown = client.get(f"/api/v1/holds/{earlier['id']}", headers=crew.auth(crew.driver))
    assert shown.json()["hold"]["status"] == "released"
    offered = options_of(client, crew, request["id"]).json()["options"]
    assert first["start_at"] in [o["start_at"] for o in offered]  # free for others again
    stale = book_option(client, crew, request["id"], first["start_at"], earlier["id"])
    assert stale.status_code == 409 and stale.json()["code"] == "hold_expired"
    kept = later.json()["hold"]
    third = next(o for o in offered if o["start_at"] >= second["end_at"])
    taken(client, crew, crew.pool[0], datetime.fromisoformat(third["start_at"]))
    taken(client, crew, crew.pool[1], datetime.fromisoformat(third["start_at"]))
    refused = hold_option(client, crew, request, third)
    assert refused.status_code == 409, refused.text
    still = client.get(f"/api/v1/holds/{kept['id']}", headers=crew.auth(crew.driver))
    assert still.json()["hold"]["status"] == "active"  # a refused hold lets nothing go


def test_a_hold_of_another_request_does_not_book_this_one(client, crew: Panel):
    start = day()
    this = offer(client, crew, one_round(crew, start))
    other = offer(client, crew, one_round(crew, start + timedelta(days=1)))
    option = options_of(client, crew, other["id"]).json()["options"][0]
    held = hold_option(client, crew, other, option).json()["hold"]
    refused = book_option(client, crew, this["id"], option["start_at"], held["id"])
    assert refused.status_code == 422 and refused.json()["code"] == "hold_mismatch"
    assert refused.json()["errors"][0]["field"] == "option.hold_id"
    moved = book_option(client, crew, other["id"], iso(start), held["id"])
    assert moved.status_code == 422 and moved.json()["code"] == "hold_mismatch"
