"""Create, show and the documented endpoint's compatibility."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from db.models import Event, Interview
from tests.helpers.booking import interview_body, slot

SEED_BODY = {
    "interview": {
        "interviewee_id": 289,
        "interviewer_id": 1014,
        "kind": "video_call",
        "location": "https://zoom.com",
        "start_at": "2025-11-20T08:13:05Z",
        "end_at": "2025-11-20T08:43:05Z",
    }
}
SEED_TOKEN_CLAIMS = {"sub": "1015", "scp": "user", "aud": None}
MS_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def seed_people(app, db):
    """The documented example's people, as `interviews people import` would load them."""
    from db.people import import_people

    import_people({
        "users": [
            {"id": 1015, "title": "Casey Coordinator", "role": "coordinator"},
            {"id": 1014, "title": "Felipe Vandervort", "role": "interviewer",
             "phone_number": "456"},
            {"id": 1012, "title": "Raleigh Bechtelar", "role": "driver", "phone_number": "123"},
        ],
        "interviewees": [{"id": 289, "driver_id": 1012, "kind": "interview", "currency": "GBP"}],
    })
    # Free the documented slot in case another test (the fuzzer) booked it first.
    Interview.update(status="cancelled").where(Interview.interviewee == 289).execute()


def seed_token(settings) -> str:
    import time
    import uuid

    import jwt

    now = int(time.time())
    claims = {**SEED_TOKEN_CLAIMS, "iat": now, "exp": now + 3600, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def test_seed_request_gets_the_seed_response(client, settings, seed_people):
    response = client.post(
        "/api/v1/interviews/", json=SEED_BODY, follow_redirects=False,
        headers={"Authorization": f"Bearer {seed_token(settings)}", "Accept": "application/json"},
    )
    assert response.status_code == 200
    body = response.json()["interview"]
    assert body["id"] >= 1
    assert body["interviewee"]["updated_at"] and MS_UTC.match(body["interviewee"]["updated_at"])
    expected = {
        "amend_end_at": None, "amend_start_at": None, "amended_by": None,
        "end_at": "2025-11-20T08:43:05.000Z",
        "interviewee": {
            "id": 289, "currency": "GBP",
            "driver": {"id": 1012, "image": None, "phone_number": "123",
                       "title": "Raleigh Bechtelar"},
            "kind": "interview", "updated_at": body["interviewee"]["updated_at"],
        },
        "interviewee_id": 289,
        "interviewer": {"id": 1014, "contact_phone_number": None, "image": None,
                        "title": "Felipe Vandervort"},
        "interviewer_id": 1014, "kind": "video_call", "location": "https://zoom.com",
        "start_at": "2025-11-20T08:13:05.000Z", "status": "pending",
    }
    for key, value in expected.items():
        assert body[key] == value, key
    assert list(body)[:len(expected) + 1] == ["id", *expected]
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.headers["location"] == f"/api/v1/interviews/{body['id']}"
    for header, value in [
        ("x-frame-options", "SAMEORIGIN"), ("x-xss-protection", "0"),
        ("x-content-type-options", "nosniff"), ("x-permitted-cross-domain-policies", "none"),
        ("referrer-policy", "strict-origin-when-cross-origin"),
        ("cache-control", "max-age=0, private, must-revalidate"),
    ]:
        assert response.headers[header] == value
    assert response.headers["etag"]
    assert re.fullmatch(r"\d+\.\d{6}", response.headers["x-runtime"])
    assert re.fullmatch(r"[0-9a-f-]{36}", response.headers["x-request-id"])


def test_create_without_trailing_slash_creates_too(client, people):
    response = client.post("/api/v1/interviews", json=interview_body(people),
                           headers=people.auth(people.coordinator))
    assert response.status_code == 200
    assert response.json()["interview"]["status"] == "pending"


def test_create_records_a_history_event(client, people, db):
    response = client.post("/api/v1/interviews", json=interview_body(people),
                           headers=people.auth(people.interviewer))
    events = list(Event.select().where(Event.interview == response.json()["interview"]["id"]))
    assert [(e.action, e.actor_id) for e in events] == [("create", people.interviewer.id)]


def test_show_returns_what_create_returned(client, people):
    created = client.post("/api/v1/interviews", json=interview_body(people),
                          headers=people.auth(people.coordinator))
    shown = client.get(f"/api/v1/interviews/{created.json()['interview']['id']}",
                       headers=people.auth(people.coordinator))
    assert shown.status_code == 200
    assert shown.json() == created.json()
    assert shown.headers["etag"] == created.headers["etag"]


@pytest.mark.parametrize("who", ["coordinator", "interviewer", "driver"])
def test_show_to_each_side(client, people, who):
    created = client.post("/api/v1/interviews", json=interview_body(people),
                          headers=people.auth(people.coordinator)).json()["interview"]
    response = client.get(f"/api/v1/interviews/{created['id']}",
                          headers=people.auth(getattr(people, who)))
    assert response.status_code == 200
    expected = {"driver": ["confirm", "decline", "cancel", "propose_amendment"]}.get(
        who, ["edit", "cancel", "propose_amendment"])
    assert response.json()["interview"]["allowed_actions"] == expected


@pytest.mark.parametrize("who", ["other_interviewer", "other_driver"])
def test_show_to_a_stranger_is_404(client, people, who):
    created = client.post("/api/v1/interviews", json=interview_body(people),
                          headers=people.auth(people.coordinator)).json()["interview"]
    response = client.get(f"/api/v1/interviews/{created['id']}",
                          headers=people.auth(getattr(people, who)))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_show_missing_is_404(client, people):
    response = client.get("/api/v1/interviews/9007199254740991",
                          headers=people.auth(people.coordinator))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_create_by_driver_is_403(client, people):
    response = client.post("/api/v1/interviews", json=interview_body(people),
                           headers=people.auth(people.driver))
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_create_by_interviewer_for_another_is_403(client, people):
    body = interview_body(people, interviewer_id=people.other_interviewer.id)
    response = client.post("/api/v1/interviews", json=body, headers=people.auth(people.interviewer))
    assert response.status_code == 403


def test_create_by_interviewer_for_themselves(client, people):
    response = client.post("/api/v1/interviews", json=interview_body(people),
                           headers=people.auth(people.interviewer))
    assert response.status_code == 200


@pytest.mark.parametrize("overrides, field", [
    ({"start_at": "2030-01-01T10:00:00Z", "end_at": "2030-01-01T09:00:00Z"}, "end_at"),
    ({"start_at": "2030-01-01T10:00:00Z", "end_at": "2030-01-01T10:00:00Z"}, "end_at"),
    ({"start_at": "2030-01-01T10:00:00Z", "end_at": "2030-01-01T10:04:59Z"}, "end_at"),
    ({"start_at": "2030-01-01T10:00:00Z", "end_at": "2030-01-01T18:00:01Z"}, "end_at"),
    ({"location": "zoom.com"}, "location"),
    ({"interviewer_id": 9007199254740991}, "interviewer_id"),
    ({"interviewee_id": 9007199254740991}, "interviewee_id"),
    ({"start_at": "2030-01-01T10:00:00"}, "start_at"),
    ({"start_at": "0001-01-01T00:00:00+01:00"}, "start_at"),
    # Checks look hours around the slot (overlap, buffers): off the calendar was a 500.
    ({"start_at": "0001-01-01T00:00:00Z", "end_at": "0001-01-01T00:30:00Z"}, "start_at"),
    ({"start_at": "9999-12-31T12:00:00Z", "end_at": "9999-12-31T12:30:00Z"}, "start_at"),
])
def test_create_breaking_a_rule_is_422(client, people, overrides, field):
    response = client.post("/api/v1/interviews", json=interview_body(people, **overrides),
                           headers=people.auth(people.coordinator))
    assert response.status_code in (400, 422), response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"].split(".")[-1] for e in problem["errors"]]


def test_create_with_coordinator_as_interviewer_is_422(client, people):
    response = client.post("/api/v1/interviews",
                           json=interview_body(people, interviewer_id=people.coordinator.id),
                           headers=people.auth(people.coordinator))
    assert response.status_code == 422


@pytest.mark.parametrize("duration", [5, 480])
def test_duration_bounds_are_inclusive(client, people, duration):
    start, end = slot(minutes=duration)
    response = client.post("/api/v1/interviews", json=interview_body(people, start, end),
                           headers=people.auth(people.coordinator))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("kind, location", [("phone_call", None), ("in_person", "1 Main St")])
def test_other_kinds_take_any_location(client, people, kind, location):
    response = client.post("/api/v1/interviews",
                           json=interview_body(people, kind=kind, location=location),
                           headers=people.auth(people.coordinator))
    assert response.status_code == 200


def test_offsets_are_stored_and_returned_in_utc(client, people):
    body = interview_body(people, start_at="2032-03-01T10:00:00.123456+02:00",
                          end_at="2032-03-01T10:30:00+02:00")
    interview = client.post("/api/v1/interviews", json=body,
                            headers=people.auth(people.coordinator)).json()["interview"]
    assert interview["start_at"] == "2032-03-01T08:00:00.123Z"
    assert interview["end_at"] == "2032-03-01T08:30:00.000Z"


def test_create_overlapping_is_409_naming_the_conflict(client, people):
    start, end = slot()
    first = client.post("/api/v1/interviews", json=interview_body(people, start, end),
                        headers=people.auth(people.coordinator)).json()["interview"]
    response = client.post("/api/v1/interviews", json=interview_body(people, start, end),
                           headers=people.auth(people.coordinator))
    assert response.status_code == 409
    assert response.json()["code"] == "overlap"
    assert response.json()["conflicts"] == [first["id"]]


def test_interviewee_cannot_be_double_booked_with_another_interviewer(client, people):
    start, end = slot()
    client.post("/api/v1/interviews", json=interview_body(people, start, end),
                headers=people.auth(people.coordinator))
    other = interview_body(people, start, end, interviewer_id=people.other_interviewer.id)
    assert client.post("/api/v1/interviews", json=other,
                       headers=people.auth(people.coordinator)).status_code == 409


def test_back_to_back_is_fine(client, people):
    start, end = slot()
    assert client.post("/api/v1/interviews", json=interview_body(people, start, end),
                       headers=people.auth(people.coordinator)).status_code == 200
    # The next slot starts where this one ends. (It was built by replacing the hour's digits in
    # the text, which also hit the date whenever its digits matched: 11:30 on the 11th.)
    follow = interview_body(people, *slot(datetime.fromisoformat(end)))
    assert client.post("/api/v1/interviews", json=follow,
                       headers=people.auth(people.coordinator)).status_code == 200


def test_database_refuses_overlap_even_without_the_check(people, db):
    """The trigger / exclusion constraint holds on its own, whatever the code checks."""
    from datetime import UTC

    from peewee import IntegrityError

    from db.integrity import is_overlap_violation

    row = {"kind": "phone_call", "status": "pending",
           "start_at": datetime(2040, 1, 1, 9, tzinfo=UTC),
           "end_at": datetime(2040, 1, 1, 10, tzinfo=UTC), "interviewer": people.interviewer,
           "interviewee": people.interviewee, "version": 1}
    Interview.create(**row)
    with pytest.raises(IntegrityError) as caught, db.atomic():
        Interview.create(**row | {"start_at": datetime(2040, 1, 1, 9, 59, tzinfo=UTC)})
    assert is_overlap_violation(caught.value)
    Interview.create(**row | {"status": "cancelled"})  # inactive rows do not count


@pytest.mark.parametrize("payload, code", [
    (b"{", "malformed_json"),
    (b'{"interview": "\xff\xfe"}', "malformed_json"),
    (b"[]", "invalid_body"),
    (b'{"interview": {}}', "invalid_body"),
    (b'{"interview": {"kind": "video_call"}, "extra": 1}', "invalid_body"),
])
def test_malformed_bodies_are_400(client, people, payload, code):
    response = client.post("/api/v1/interviews", content=payload,
                           headers={**people.auth(people.coordinator),
                                    "Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_missing_fields_are_named(client, people):
    response = client.post("/api/v1/interviews", json={"interview": {"kind": "video_call"}},
                           headers=people.auth(people.coordinator))
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"interview.start_at", "interview.end_at", "interview.interviewer_id"} <= fields


def test_body_over_64_kib_is_413(client, people):
    body = interview_body(people, location="https://x.example/" + "a" * 70_000)
    response = client.post("/api/v1/interviews", json=body, headers=people.auth(people.coordinator))
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_405_lists_every_allowed_method(client, people):
    response = client.delete("/api/v1/interviews", headers=people.auth(people.coordinator))
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    response = client.put("/api/v1/interviews/1", headers=people.auth(people.coordinator))
    assert response.headers["allow"] == "GET, HEAD, PATCH"


def test_request_id_is_echoed_when_sane_and_replaced_otherwise(client):
    assert client.get("/healthz",
                      headers={"X-Request-Id": "abc-123"}).headers["x-request-id"] == "abc-123"
    replaced = client.get("/healthz",
                          headers={"X-Request-Id": "bad id\x01"}).headers["x-request-id"]
    assert replaced != "bad id\x01" and len(replaced) == 36


def test_me(client, people):
    response = client.get("/api/v1/me", headers=people.auth(people.driver))
    assert response.status_code == 200
    assert response.json()["user"] == {
        "id": people.driver.id, "title": people.driver.title, "role": "driver",
        "phone_number": "123", "contact_phone_number": None, "image": None,
    }


def test_health_and_readiness_need_no_token(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ok"}


def test_spec_and_ui_are_served(client):
    assert client.get("/api/v1/openapi.json").json()["openapi"] == "3.0.3"
    assert client.get("/api/v1/ui/").status_code == 200
