"""Transitions, edits, visibility, ETags and history."""
from __future__ import annotations

import itertools

import pytest

from tests.helpers.booking import book, book_past, bring_to, slot

STATUSES = ["pending", "confirmed", "declined", "cancelled", "completed", "no_show"]
ACTIONS = ["confirm", "decline", "cancel", "complete", "no_show"]
SIDES = {"coordinator": "interviewer", "interviewer": "interviewer", "driver": "interviewee"}
# DESIGN.md "Who may do what", restated as a table.
MAY = {"confirm": {"interviewee"}, "decline": {"interviewee"},
       "cancel": {"interviewer", "interviewee"},
       "complete": {"interviewer"}, "no_show": {"interviewer"}}
FROM = {"confirm": {"pending"}, "decline": {"pending"}, "cancel": {"pending", "confirmed"},
        "complete": {"confirmed"}, "no_show": {"confirmed"}}
TO = {"confirm": "confirmed", "decline": "declined", "cancel": "cancelled", "complete": "completed",
      "no_show": "no_show"}


@pytest.mark.parametrize("status, action, who", list(itertools.product(STATUSES, ACTIONS, SIDES)))
def test_transition_table(client, people, status, action, who):
    interview = bring_to(client, people, book_past(client, people), status)
    response = client.post(f"/api/v1/interviews/{interview['id']}/{action}",
                           headers=people.auth(getattr(people, who)))
    side = SIDES[who]
    if side not in MAY[action]:
        assert response.status_code == 403, response.text
    elif status not in FROM[action]:
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "invalid_transition"
        assert action not in response.json()["allowed_actions"]
    else:
        assert response.status_code == 200, response.text
        assert response.json()["interview"]["status"] == TO[action]


@pytest.mark.parametrize("action", ["complete", "no_show"])
def test_complete_before_start_is_409(client, people, action):
    interview = bring_to(client, people, book(client, people), "confirmed")
    response = client.post(f"/api/v1/interviews/{interview['id']}/{action}",
                           headers=people.auth(people.interviewer))
    assert response.status_code == 409
    assert response.json()["allowed_actions"] == ["edit", "cancel", "propose_amendment"]


def test_confirm_by_interviewer_is_forbidden(client, people):
    interview = book(client, people)
    response = client.post(f"/api/v1/interviews/{interview['id']}/confirm",
                           headers=people.auth(people.interviewer))
    assert response.status_code == 403


def test_cancel_reason_becomes_status_reason_and_history(client, people):
    interview = book(client, people)
    response = client.post(f"/api/v1/interviews/{interview['id']}/cancel",
                           json={"reason": "found another job"},
                           headers=people.auth(people.driver))
    assert response.json()["interview"]["status_reason"] == "found another job"
    events = client.get(f"/api/v1/interviews/{interview['id']}/events",
                        headers=people.auth(people.driver)).json()["events"]
    assert [e["action"] for e in events] == ["create", "cancel"]
    assert events[1]["reason"] == "found another job"
    assert events[1]["actor_id"] == people.driver.id
    assert events[1]["changes"]["status"] == {"from": "pending", "to": "cancelled"}


def test_cancelled_slot_can_be_booked_again(client, people):
    start, end = slot()
    first = book(client, people, start, end)
    client.post(f"/api/v1/interviews/{first['id']}/cancel", headers=people.auth(people.interviewer))
    assert book(client, people, start, end)["id"] != first["id"]


def test_allowed_actions_follow_the_caller(client, people):
    interview = bring_to(client, people, book_past(client, people), "confirmed")
    path = f"/api/v1/interviews/{interview['id']}"
    as_interviewer = client.get(path, headers=people.auth(people.interviewer)).json()["interview"]
    assert as_interviewer["allowed_actions"] == [
        "edit", "cancel", "complete", "no_show", "propose_amendment"]
    as_driver = client.get(path, headers=people.auth(people.driver)).json()["interview"]
    assert as_driver["allowed_actions"] == ["cancel", "propose_amendment"]


OPERATIONS = [
    ("get", ""), ("patch", ""), ("get", "/events"), ("post", "/confirm"), ("post", "/decline"),
    ("post", "/cancel"), ("post", "/complete"), ("post", "/no_show"), ("post", "/amendment"),
    ("delete", "/amendment"), ("post", "/amendment/accept"), ("post", "/amendment/reject"),
]
BODIES = {"": {"interview": {"kind": "phone_call"}},
          "/amendment": {"amendment": {"start_at": "2031-05-05T10:00:00Z",
                                       "end_at": "2031-05-05T10:30:00Z"}}}


@pytest.mark.parametrize("method, suffix", OPERATIONS)
@pytest.mark.parametrize("stranger", ["other_interviewer", "other_driver"])
def test_stranger_gets_404_everywhere(client, people, method, suffix, stranger):
    interview = book(client, people)
    kwargs = {"json": BODIES[suffix]} if method in ("post", "patch") and suffix in BODIES else {}
    response = client.request(method.upper(), f"/api/v1/interviews/{interview['id']}{suffix}",
                              headers=people.auth(getattr(people, stranger)), **kwargs)
    assert response.status_code == 404, response.text


def test_edit_kind_and_location(client, people):
    interview = book(client, people)
    response = client.patch(f"/api/v1/interviews/{interview['id']}",
                            json={"interview": {"kind": "in_person", "location": "1 High St"}},
                            headers=people.auth(people.interviewer))
    assert response.status_code == 200
    assert (response.json()["interview"]["kind"],
            response.json()["interview"]["location"]) == ("in_person", "1 High St")
    assert response.headers["etag"] != f'"{interview["id"]}-1"'


def test_edit_by_driver_is_forbidden(client, people):
    interview = book(client, people)
    response = client.patch(f"/api/v1/interviews/{interview['id']}",
                            json={"interview": {"kind": "phone_call"}},
                            headers=people.auth(people.driver))
    assert response.status_code == 403


def test_edit_times_while_pending(client, people):
    interview = book(client, people)
    start, end = slot()
    response = client.patch(f"/api/v1/interviews/{interview['id']}",
                            json={"interview": {"start_at": start, "end_at": end}},
                            headers=people.auth(people.interviewer))
    assert response.status_code == 200
    assert response.json()["interview"]["start_at"] == start.replace("Z", ".000Z")


def test_edit_times_once_confirmed_is_409(client, people):
    interview = bring_to(client, people, book(client, people), "confirmed")
    start, end = slot()
    response = client.patch(f"/api/v1/interviews/{interview['id']}",
                            json={"interview": {"start_at": start, "end_at": end}},
                            headers=people.auth(people.interviewer))
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_edit_into_an_overlap_is_409(client, people):
    taken_start, taken_end = slot()
    taken = book(client, people, taken_start, taken_end)
    interview = book(client, people)
    response = client.patch(f"/api/v1/interviews/{interview['id']}",
                            json={"interview": {"start_at": taken_start, "end_at": taken_end}},
                            headers=people.auth(people.coordinator))
    assert response.status_code == 409
    assert response.json()["conflicts"] == [taken["id"]]


def test_edit_to_a_busy_interviewer_is_409(client, people):
    start, end = slot()
    client.post("/api/v1/interviews", json={"interview": {
        "interviewee_id": people.other_interviewee.id,
        "interviewer_id": people.other_interviewer.id,
        "kind": "phone_call", "start_at": start, "end_at": end}},
                headers=people.auth(people.coordinator))
    interview = book(client, people, start, end)
    response = client.patch(f"/api/v1/interviews/{interview['id']}",
                            json={"interview": {"interviewer_id": people.other_interviewer.id}},
                            headers=people.auth(people.coordinator))
    assert response.status_code == 409


def test_coordinator_reassigns_but_interviewer_may_not_hand_over(client, people):
    interview = book(client, people)
    path = f"/api/v1/interviews/{interview['id']}"
    body = {"interview": {"interviewer_id": people.other_interviewer.id}}
    assert client.patch(path, json=body, headers=people.auth(people.interviewer)).status_code == 403
    response = client.patch(path, json=body, headers=people.auth(people.coordinator))
    assert response.status_code == 200
    assert response.json()["interview"]["interviewer"]["id"] == people.other_interviewer.id
    assert client.get(path, headers=people.auth(people.interviewer)).status_code == 404


@pytest.mark.parametrize("body", [{"interview": {}}, {"interview": {"status": "confirmed"}}, {}])
def test_edit_with_nothing_editable_is_400(client, people, body):
    interview = book(client, people)
    response = client.patch(f"/api/v1/interviews/{interview['id']}", json=body,
                            headers=people.auth(people.interviewer))
    assert response.status_code == 400


def test_edit_of_a_cancelled_interview_is_409(client, people):
    interview = bring_to(client, people, book(client, people), "cancelled")
    response = client.patch(f"/api/v1/interviews/{interview['id']}",
                            json={"interview": {"kind": "phone_call"}},
                            headers=people.auth(people.interviewer))
    assert response.status_code == 409


def test_two_edits_with_the_same_etag_one_wins(client, people):
    interview = book(client, people)
    path = f"/api/v1/interviews/{interview['id']}"
    etag = client.get(path, headers=people.auth(people.interviewer)).headers["etag"]
    first = client.patch(path, json={"interview": {"kind": "phone_call"}},
                         headers={**people.auth(people.interviewer), "If-Match": etag})
    second = client.patch(path, json={"interview": {"kind": "in_person", "location": "HQ"}},
                          headers={**people.auth(people.coordinator), "If-Match": etag})
    assert (first.status_code, second.status_code) == (200, 412)
    assert second.json()["code"] == "precondition_failed"
    kind = client.get(path, headers=people.auth(people.interviewer)).json()["interview"]["kind"]
    assert kind == "phone_call"


def test_if_match_applies_to_transitions(client, people):
    interview = book(client, people)
    path = f"/api/v1/interviews/{interview['id']}/confirm"
    assert client.post(path, headers={**people.auth(people.driver),
                                      "If-Match": '"0-0"'}).status_code == 412
    assert client.post(path, headers={**people.auth(people.driver),
                                      "If-Match": f'"{interview["id"]}-1"'}).status_code == 200


def test_if_none_match_gives_304(client, people):
    interview = book(client, people)
    path = f"/api/v1/interviews/{interview['id']}"
    etag = client.get(path, headers=people.auth(people.interviewer)).headers["etag"]
    not_modified = client.get(path, headers={**people.auth(people.interviewer),
                                             "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.headers["etag"] == etag
    client.post(f"{path}/confirm", headers=people.auth(people.driver))
    assert client.get(path, headers={**people.auth(people.interviewer),
                                     "If-None-Match": etag}).status_code == 200


def test_history_records_every_step_in_order(client, people):
    interview = book(client, people)
    path = f"/api/v1/interviews/{interview['id']}"
    client.patch(path, json={"interview": {"kind": "phone_call"}},
                 headers=people.auth(people.interviewer))
    start, end = slot()
    client.post(f"{path}/amendment", json={"amendment": {"start_at": start, "end_at": end}},
                headers=people.auth(people.driver))
    client.post(f"{path}/amendment/accept", headers=people.auth(people.interviewer))
    client.post(f"{path}/cancel", headers=people.auth(people.driver))
    events = client.get(f"{path}/events", headers=people.auth(people.coordinator)).json()["events"]
    assert [e["action"] for e in events] == ["create", "edit", "propose_amendment",
                                             "accept_amendment", "cancel"]
    assert events[1]["changes"] == {"kind": {"from": "video_call", "to": "phone_call"}}
    assert events[3]["changes"]["start_at"]["to"] == start.replace("Z", ".000Z")
