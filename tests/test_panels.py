"""Panels: several interviewers in one interview, each held to every booking rule."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import ics
import pytest
from icalendar import Calendar
from peewee import IntegrityError

from db.connection import write_transaction
from db.models import InterviewMember
from tests.helpers.booking import book, bring_to, interview_body, iso
from tests.helpers.people import People, make_interviewee, make_user
from tests.helpers.schedules import SCHEDULE

BASE = datetime(2033, 2, 7, 9, tzinfo=UTC)  # a Monday
steps = iter(range(10_000))


def fresh(minutes: int = 30) -> tuple[str, str]:
    """A slot nobody else in this module uses."""
    start = BASE + timedelta(hours=next(steps) * 2)
    return iso(start), iso(start + timedelta(minutes=minutes))


class Panel(People):
    """People, plus a panelist and a shadow."""

    def __init__(self, settings) -> None:
        super().__init__(settings)
        self.panelist = make_user("interviewer", title="Pat Panelist")
        self.shadow = make_user("interviewer", title="Sam Shadow")

    def panel(self) -> list[dict]:
        return [{"interviewer_id": self.panelist.id, "role": "panelist"},
                {"interviewer_id": self.shadow.id, "role": "shadow"}]


@pytest.fixture
def crew(app, settings) -> Panel:
    return Panel(settings)


def create(client, crew: Panel, start: str, end: str, who=None, **fields):
    body = interview_body(crew, start, end, interviewee_id=make_interviewee(crew.driver).id,
                          **fields)
    return client.post("/api/v1/interviews", json=body, headers=crew.auth(who or crew.coordinator))


def booked(client, crew: Panel, start: str | None = None, end: str | None = None, **fields) -> dict:
    if start is None:
        start, end = fresh()
    response = create(client, crew, start, end, **{"panel": crew.panel(), **fields})
    assert response.status_code == 200, response.text
    return response.json()["interview"]


def respond(client, crew: Panel, interview: dict, who, status: str, **headers):
    return client.post(f"/api/v1/interviews/{interview['id']}/response",
                       json={"response": {"status": status, "reason": "because"}},
                       headers={**crew.auth(who), **headers})


def answers(interview: dict) -> dict[int, tuple[str, str]]:
    return {i["id"]: (i["role"], i["response"]) for i in interview["interviewers"]}


def test_a_panel_is_shown_lead_first_then_in_the_order_given(client, crew: Panel):
    interview = booked(client, crew)
    assert [i["id"] for i in interview["interviewers"]] == [
        crew.interviewer.id, crew.panelist.id, crew.shadow.id]
    assert interview["interviewers"][1] == {
        "id": crew.panelist.id, "title": "Pat Panelist", "contact_phone_number": None,
        "image": None, "role": "panelist", "response": "needs_action"}
    assert answers(interview)[crew.interviewer.id] == ("lead", "accepted")
    assert answers(interview)[crew.shadow.id] == ("shadow", "needs_action")
    # The seed's fields are the lead's, as before panels.
    assert interview["interviewer_id"] == crew.interviewer.id
    assert interview["interviewer"]["id"] == crew.interviewer.id


def test_without_a_panel_the_lead_alone_is_listed(client, crew: Panel):
    interview = book(client, crew)
    assert interview["interviewers"] == [{
        "id": crew.interviewer.id, "title": crew.interviewer.title, "contact_phone_number": None,
        "image": None, "role": "lead", "response": "accepted"}]


FIRST, SECOND = "panel[0].interviewer_id", "panel[1].interviewer_id"


@pytest.mark.parametrize("panel, field", [
    (lambda c: [{"interviewer_id": c.interviewer.id, "role": "panelist"}], FIRST),
    (lambda c: [{"interviewer_id": c.panelist.id, "role": "panelist"},
                {"interviewer_id": c.panelist.id, "role": "shadow"}], SECOND),
    (lambda c: [{"interviewer_id": c.panelist.id, "role": "panelist"},
                {"interviewer_id": c.driver.id, "role": "panelist"}], SECOND),
    (lambda c: [{"interviewer_id": c.coordinator.id, "role": "shadow"}], FIRST),
    (lambda c: [{"interviewer_id": 9_000_000_000_000, "role": "shadow"}], FIRST),
])
def test_a_panel_of_other_distinct_interviewers_only(client, crew: Panel, panel, field):
    response = create(client, crew, *fresh(), panel=panel(crew))
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field


def test_more_than_nine_beside_the_lead_is_400(client, crew: Panel):
    panel = [{"interviewer_id": make_user("interviewer").id, "role": "panelist"} for _ in range(10)]
    response = create(client, crew, *fresh(), panel=panel)
    assert response.status_code == 400, response.text


def test_a_busy_panelist_is_refused_and_named(client, crew: Panel):
    start, end = fresh()
    elsewhere = book(client, crew, start, end, interviewer_id=crew.panelist.id,
                     interviewee_id=make_interviewee(crew.driver).id)
    response = create(client, crew, start, end, panel=crew.panel())
    assert response.status_code == 409, response.text
    problem = response.json()
    assert (problem["code"], problem["interviewer_id"], problem["conflicts"]) == (
        "overlap", crew.panelist.id, [elsewhere["id"]])


def test_a_lead_busy_on_another_panel_is_refused(client, crew: Panel):
    start, end = fresh()
    seated = booked(client, crew, start, end, interviewer_id=crew.other_interviewer.id,
                    panel=[{"interviewer_id": crew.interviewer.id, "role": "shadow"}])
    response = create(client, crew, start, end)
    assert response.status_code == 409, response.text
    assert response.json()["conflicts"] == [seated["id"]]
    assert response.json()["interviewer_id"] == crew.interviewer.id


def test_the_database_refuses_overlapping_seats_of_one_interviewer(client, crew: Panel, db):
    """Not only the checks: a member row overlapping another active one cannot be written."""
    start, end = fresh()
    first = book(client, crew, start, end, interviewer_id=crew.panelist.id,
                 interviewee_id=make_interviewee(crew.driver).id)
    other = book(client, crew, *fresh())
    with pytest.raises(IntegrityError, match="interview_member_no_overlap"), write_transaction():
        InterviewMember.insert(
            interview=other["id"], interviewer=crew.panelist.id, role="panelist",
            response="needs_action", position=1, status="pending",
            start_at=datetime.fromisoformat(start), end_at=datetime.fromisoformat(end)).execute()
    # A declined seat does not block.
    with write_transaction():
        InterviewMember.insert(
            interview=other["id"], interviewer=crew.panelist.id, role="panelist",
            response="declined", position=1, status="pending",
            start_at=datetime.fromisoformat(start), end_at=datetime.fromisoformat(end)).execute()
    assert first["status"] == "pending"


def put_schedule(client, crew: Panel, interviewer, **changes) -> None:
    response = client.put(f"/api/v1/interviewers/{interviewer.id}/schedule",
                          json={"schedule": {**SCHEDULE, "minimum_notice_minutes": 0, **changes}},
                          headers=crew.auth(crew.coordinator))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("member", ["panelist", "shadow"])
def test_every_member_is_held_to_their_working_hours(client, crew: Panel, member):
    put_schedule(client, crew, getattr(crew, member))
    saturday = BASE + timedelta(days=5 + 7 * next(steps))
    response = create(client, crew, iso(saturday), iso(saturday + timedelta(minutes=30)),
                      panel=crew.panel())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "outside_working_hours"
    assert response.json()["interviewer_id"] == getattr(crew, member).id


@pytest.mark.parametrize("member", ["panelist", "shadow"])
def test_every_member_is_held_to_their_buffer_and_time_off(client, crew: Panel, member):
    person = getattr(crew, member)
    put_schedule(client, crew, person, working_hours=None, buffer_minutes=30)
    day = BASE + timedelta(days=7 * next(steps) + 1)
    near = book(client, crew, iso(day), iso(day + timedelta(minutes=30)), interviewer_id=person.id,
                interviewee_id=make_interviewee(crew.driver).id)
    response = create(client, crew, iso(day + timedelta(minutes=45)), iso(day + timedelta(hours=1)),
                      panel=crew.panel())
    assert response.status_code == 409, response.text
    assert (response.json()["code"], response.json()["interviewer_id"]) == ("buffer", person.id)
    assert response.json()["conflicts"] == [near["id"]]
    away = {"start_at": iso(day + timedelta(hours=3)), "end_at": iso(day + timedelta(hours=5))}
    off = client.post(f"/api/v1/interviewers/{person.id}/time_off",
                      headers=crew.auth(crew.coordinator), json={"time_off": away})
    assert off.status_code == 201, off.text
    response = create(client, crew, iso(day + timedelta(hours=4)),
                      iso(day + timedelta(hours=4, minutes=30)), panel=crew.panel())
    assert (response.json()["code"], response.json()["interviewer_id"]) == ("time_off", person.id)


def test_limits_hold_panelists_but_not_shadows(client, crew: Panel):
    for person in (crew.panelist, crew.shadow):
        put_schedule(client, crew, person, working_hours=None, buffer_minutes=0, daily_limit=1)
    day = BASE + timedelta(days=7 * next(steps) + 2)
    for person in (crew.panelist, crew.shadow):  # each has one interview of their own that day
        book(client, crew, iso(day), iso(day + timedelta(minutes=30)), interviewer_id=person.id,
             interviewee_id=make_interviewee(crew.driver).id)
    later = (iso(day + timedelta(hours=2)), iso(day + timedelta(hours=2, minutes=30)))
    refused = create(client, crew, *later, panel=crew.panel())
    assert refused.status_code == 409, refused.text
    assert (refused.json()["code"], refused.json()["interviewer_id"]) == (
        "daily_limit", crew.panelist.id)
    as_shadows = create(client, crew, *later, panel=[
        {"interviewer_id": crew.panelist.id, "role": "shadow"},
        {"interviewer_id": crew.shadow.id, "role": "shadow"}])
    assert as_shadows.status_code == 200, as_shadows.text
    # A shadow's seat does not count toward the panelist's limit either.
    panelist_alone = create(client, crew, iso(day + timedelta(hours=4)),
                            iso(day + timedelta(hours=4, minutes=30)),
                            interviewer_id=crew.shadow.id)
    assert panelist_alone.status_code == 409
    assert panelist_alone.json()["code"] == "daily_limit"


def test_a_decline_frees_the_time_and_accepting_again_is_checked(client, crew: Panel):
    start, end = fresh()
    interview = booked(client, crew, start, end)
    declined = respond(client, crew, interview, crew.panelist, "declined")
    assert declined.status_code == 200, declined.text
    assert answers(declined.json()["interview"])[crew.panelist.id] == ("panelist", "declined")
    assert declined.headers["etag"] != f'"{interview["id"]}-1"'
    # Free at once: the panelist can lead another interview at that time.
    other = book(client, crew, start, end, interviewer_id=crew.panelist.id,
                 interviewee_id=make_interviewee(crew.driver).id)
    again = respond(client, crew, interview, crew.panelist, "accepted")
    assert again.status_code == 409, again.text
    assert (again.json()["code"], again.json()["interviewer_id"], again.json()["conflicts"]) == (
        "overlap", crew.panelist.id, [other["id"]])
    cancelled = client.post(f"/api/v1/interviews/{other['id']}/cancel",
                            headers=crew.auth(crew.coordinator))
    assert cancelled.status_code == 200
    again = respond(client, crew, interview, crew.panelist, "tentative")
    assert again.status_code == 200, again.text
    assert answers(again.json()["interview"])[crew.panelist.id] == ("panelist", "tentative")


def test_answers_are_recorded_and_published(client, crew: Panel):
    interview = booked(client, crew)
    response = respond(client, crew, interview, crew.shadow, "tentative")
    assert response.status_code == 200
    events = client.get(f"/api/v1/interviews/{interview['id']}/events",
                        headers=crew.auth(crew.shadow)).json()["events"]
    assert [e["action"] for e in events] == ["create", "respond"]
    assert events[0]["changes"]["panel"] == {"from": None, "to": crew.panel()}
    assert events[1]["changes"] == {"response": {"from": "needs_action", "to": "tentative"}}
    assert (events[1]["actor_id"], events[1]["reason"]) == (crew.shadow.id, "because")
    feed = client.get("/api/v1/events", params={"type": "interview.panel_response", "limit": 100},
                      headers=crew.auth(crew.shadow))
    assert feed.status_code == 200
    assert [e["id"] for e in feed.json()["events"] if e["interview_id"] == interview["id"]] == [
        events[1]["id"]]


def test_a_webhook_of_a_member_gets_the_answer(client, crew: Panel, db):
    from db.webhooks import Delivery, Webhook

    hook = client.post("/api/v1/webhooks", headers=crew.auth(crew.panelist), json={"webhook": {
        "url": "http://127.0.0.1:9/hook", "events": ["interview.panel_response"]}}
    ).json()["webhook"]
    try:
        interview = booked(client, crew)
        assert respond(client, crew, interview, crew.panelist, "declined").status_code == 200
        payloads = [json.loads(row.payload) for row in
                    Delivery.select().where(Delivery.webhook == hook["id"])]
        assert [p["type"] for p in payloads] == ["interview.panel_response"]
        seen = payloads[0]["data"]["interview"]
        assert seen["allowed_actions"] == ["respond"]
        assert answers(seen)[crew.panelist.id] == ("panelist", "declined")
    finally:
        Delivery.delete().where(Delivery.webhook == hook["id"]).execute()
        Webhook.delete().where(Webhook.id == hook["id"]).execute()


def test_only_members_answer_and_only_for_themselves(client, crew: Panel):
    interview = booked(client, crew)
    assert respond(client, crew, interview, crew.coordinator, "accepted").status_code == 403
    assert respond(client, crew, interview, crew.driver, "accepted").status_code == 403
    assert respond(client, crew, interview, crew.other_interviewer, "accepted").status_code == 404
    lead = respond(client, crew, interview, crew.interviewer, "declined")
    assert lead.status_code == 409 and lead.json()["code"] == "invalid_transition"
    stale = respond(client, crew, interview, crew.panelist, "accepted", **{"If-Match": '"1-0"'})
    assert stale.status_code == 412
    cancelled = bring_to(client, crew, interview, "cancelled")
    late = respond(client, crew, cancelled, crew.panelist, "accepted")
    assert late.status_code == 409 and late.json()["code"] == "invalid_transition"


def test_members_see_it_everywhere_the_lead_does_but_only_answer(client, crew: Panel):
    interview = booked(client, crew)
    member = crew.auth(crew.panelist)
    shown = client.get(f"/api/v1/interviews/{interview['id']}", headers=member)
    assert shown.status_code == 200
    assert shown.json()["interview"]["allowed_actions"] == ["respond"]
    own = client.get("/api/v1/interviews", params={"limit": 100}, headers=member).json()
    assert interview["id"] in [i["id"] for i in own["interviews"]]
    for person in (crew.interviewer, crew.panelist, crew.shadow):  # the lead or any member
        listed = client.get("/api/v1/interviews", headers=crew.auth(crew.coordinator),
                            params={"interviewer_id": person.id, "limit": 100}).json()
        assert interview["id"] in [i["id"] for i in listed["interviews"]]
    for below in ("events", "calendar"):
        assert client.get(f"/api/v1/interviews/{interview['id']}/{below}",
                          headers=member).status_code == 200
    for action in ("cancel", "confirm", "complete"):
        assert client.post(f"/api/v1/interviews/{interview['id']}/{action}",
                           headers=member).status_code == 403
    edit = client.patch(f"/api/v1/interviews/{interview['id']}", headers=member,
                        json={"interview": {"kind": "phone_call"}})
    assert edit.status_code == 403
    outsider = crew.auth(crew.other_interviewer)
    assert client.get(f"/api/v1/interviews/{interview['id']}", headers=outsider).status_code == 404


def test_the_calendar_names_every_member_with_role_and_answer(client, crew: Panel):
    interview = booked(client, crew)
    respond(client, crew, interview, crew.shadow, "declined")
    text = client.get(f"/api/v1/interviews/{interview['id']}/calendar",
                      headers=crew.auth(crew.panelist)).text
    event = next(iter(Calendar.from_ical(text).walk("VEVENT")))
    attendees = event.get("attendee")
    seen = {str(a).rsplit(":", 1)[1]: (a.params["ROLE"], a.params["PARTSTAT"], a.params["CN"])
            for a in attendees}
    assert all(str(a).startswith("urn:interviews:interviewer:") for a in attendees)
    assert seen == {
        str(crew.interviewer.id): ("CHAIR", "ACCEPTED", crew.interviewer.title),
        str(crew.panelist.id): ("REQ-PARTICIPANT", "NEEDS-ACTION", "Pat Panelist"),
        str(crew.shadow.id): ("OPT-PARTICIPANT", "DECLINED", "Sam Shadow"),
    }
    assert len(next(iter(ics.Calendar(text).events)).attendees) == 3  # a second parser agrees


def test_the_calendar_feed_of_a_member_holds_the_interview(client, crew: Panel):
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3, hours=next(steps))
    interview = booked(client, crew, iso(soon), iso(soon + timedelta(minutes=30)))
    url = client.post("/api/v1/me/calendar_feed", headers=crew.auth(crew.shadow)).json()
    feed = client.get(url["calendar_feed"]["url"].split("testserver", 1)[-1])
    assert feed.status_code == 200
    assert f"interview-{interview['id']}@interviews" in feed.text


def patch(client, crew: Panel, interview: dict, who=None, **fields):
    return client.patch(f"/api/v1/interviews/{interview['id']}", json={"interview": fields},
                        headers=crew.auth(who or crew.coordinator))


def test_a_new_panel_replaces_the_old_and_frees_who_left(client, crew: Panel):
    start, end = fresh()
    interview = booked(client, crew, start, end)
    respond(client, crew, interview, crew.shadow, "accepted")
    newcomer = make_user("interviewer")
    changed = patch(client, crew, interview, who=crew.interviewer, panel=[
        {"interviewer_id": newcomer.id, "role": "panelist"},
        {"interviewer_id": crew.shadow.id, "role": "shadow"}])
    assert changed.status_code == 200, changed.text
    shown = changed.json()["interview"]["interviewers"]
    assert [(i["id"], i["role"], i["response"]) for i in shown] == [
        (crew.interviewer.id, "lead", "accepted"), (newcomer.id, "panelist", "needs_action"),
        (crew.shadow.id, "shadow", "accepted")]  # the one kept keeps their answer
    # Whoever left is free at once, and no longer sees it.
    book(client, crew, start, end, interviewer_id=crew.panelist.id,
         interviewee_id=make_interviewee(crew.driver).id)
    assert client.get(f"/api/v1/interviews/{interview['id']}",
                      headers=crew.auth(crew.panelist)).status_code == 404
    history = client.get(f"/api/v1/interviews/{interview['id']}/events",
                         headers=crew.auth(crew.coordinator)).json()["events"]
    assert history[-1]["changes"]["panel"]["to"][0] == {"interviewer_id": newcomer.id,
                                                        "role": "panelist"}


def test_a_new_member_is_checked_as_a_booking(client, crew: Panel):
    start, end = fresh()
    interview = booked(client, crew, start, end)
    busy = make_user("interviewer")
    elsewhere = book(client, crew, start, end, interviewer_id=busy.id,
                     interviewee_id=make_interviewee(crew.driver).id)
    response = patch(client, crew, interview, panel=[*crew.panel(),
                                                     {"interviewer_id": busy.id, "role": "shadow"}])
    assert response.status_code == 409, response.text
    assert (response.json()["interviewer_id"], response.json()["conflicts"]) == (
        busy.id, [elsewhere["id"]])


def test_new_times_are_checked_for_every_member_who_has_not_declined(client, crew: Panel):
    interview = booked(client, crew)
    target = fresh()
    book(client, crew, *target, interviewer_id=crew.shadow.id,
         interviewee_id=make_interviewee(crew.driver).id)
    moved = patch(client, crew, interview, start_at=target[0], end_at=target[1])
    assert moved.status_code == 409 and moved.json()["interviewer_id"] == crew.shadow.id
    respond(client, crew, interview, crew.shadow, "declined")
    moved = patch(client, crew, interview, start_at=target[0], end_at=target[1])
    assert moved.status_code == 200, moved.text
    assert moved.json()["interview"]["start_at"].startswith(target[0][:16])


def test_a_proposal_is_checked_for_the_panel(client, crew: Panel):
    interview = booked(client, crew)
    target = fresh()
    book(client, crew, *target, interviewer_id=crew.panelist.id,
         interviewee_id=make_interviewee(crew.driver).id)
    proposal = client.post(f"/api/v1/interviews/{interview['id']}/amendment",
                           json={"amendment": {"start_at": target[0], "end_at": target[1]}},
                           headers=crew.auth(crew.driver))
    assert proposal.status_code == 409 and proposal.json()["interviewer_id"] == crew.panelist.id


def test_handing_over_to_a_member_takes_them_off_the_panel(client, crew: Panel):
    interview = booked(client, crew)
    kept = patch(client, crew, interview, interviewer_id=crew.panelist.id)
    assert kept.status_code == 422 and kept.json()["errors"][0]["field"] == "interviewer_id"
    swapped = patch(client, crew, interview, interviewer_id=crew.panelist.id, panel=[
        {"interviewer_id": crew.interviewer.id, "role": "panelist"}])
    assert swapped.status_code == 200, swapped.text
    assert answers(swapped.json()["interview"]) == {
        crew.panelist.id: ("lead", "accepted"), crew.interviewer.id: ("panelist", "needs_action")}
    assert swapped.json()["interview"]["interviewer_id"] == crew.panelist.id


def test_a_cancelled_panel_frees_everyone(client, crew: Panel):
    start, end = fresh()
    interview = booked(client, crew, start, end)
    bring_to(client, crew, interview, "cancelled")
    for person in (crew.panelist, crew.shadow):
        book(client, crew, start, end, interviewer_id=person.id,
             interviewee_id=make_interviewee(crew.driver).id)


def test_a_member_of_an_active_panel_keeps_their_role(client, crew: Panel):
    booked(client, crew)
    response = client.put(f"/api/v1/users/{crew.shadow.id}", headers=crew.auth(crew.coordinator),
                          json={"user": {"title": "Sam Shadow", "role": "driver"}})
    assert response.status_code == 409 and response.json()["code"] == "role_in_use"


def test_every_event_type_at_once_may_be_named(client, crew: Panel, db):
    """Webhooks and the feed take the whole list of event types, the new one included."""
    from db.events import EVENT_TYPES
    from db.webhooks import Webhook

    every = sorted(EVENT_TYPES.values())
    hook = client.post("/api/v1/webhooks", headers=crew.auth(crew.coordinator),
                       json={"webhook": {"url": "http://127.0.0.1:9/all", "events": every}})
    assert hook.status_code == 201, hook.text
    Webhook.delete().where(Webhook.id == hook.json()["webhook"]["id"]).execute()
    feed = client.get("/api/v1/events", params={"type": every, "limit": 1},
                      headers=crew.auth(crew.coordinator))
    assert feed.status_code == 200, feed.text
