"""Idempotency-Key: retries are safe."""
from __future__ import annotations

import uuid

from db.idempotency import claim
from db.models import Interview
from handlers.platform.idempotency import fingerprint
from tests.helpers.booking import book, interview_body


def test_create_retried_five_times_makes_one_interview(client, people, db):
    key = str(uuid.uuid4())
    body = interview_body(people)
    headers = {**people.auth(people.coordinator), "Idempotency-Key": key}
    responses = [client.post("/api/v1/interviews", json=body, headers=headers) for _ in range(5)]
    assert {r.status_code for r in responses} == {200}
    assert len({r.text for r in responses}) == 1
    assert len({(r.headers["location"], r.headers["etag"]) for r in responses}) == 1
    assert "idempotent-replayed" not in responses[0].headers
    assert all(r.headers["idempotent-replayed"] == "true" for r in responses[1:])
    assert Interview.select().where(Interview.interviewer == people.interviewer.id).count() == 1


def test_same_key_with_another_body_is_422(client, people):
    headers = {**people.auth(people.coordinator), "Idempotency-Key": "k-" + uuid.uuid4().hex}
    assert client.post("/api/v1/interviews", json=interview_body(people),
                       headers=headers).status_code == 200
    response = client.post("/api/v1/interviews", json=interview_body(people), headers=headers)
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_keys_are_scoped_to_the_caller(client, people):
    key = "shared-" + uuid.uuid4().hex
    first = client.post("/api/v1/interviews", json=interview_body(people),
                        headers={**people.auth(people.coordinator), "Idempotency-Key": key})
    second = client.post("/api/v1/interviews", json=interview_body(people),
                         headers={**people.auth(people.interviewer), "Idempotency-Key": key})
    assert first.status_code == 200 and second.status_code == 200
    assert first.json()["interview"]["id"] != second.json()["interview"]["id"]


def test_replay_while_the_first_is_in_flight_is_409(client, people, db):
    key = "inflight-" + uuid.uuid4().hex
    body = interview_body(people)
    claim(people.coordinator.id, key,
          fingerprint("POST", "/api/v1/interviews", body))  # still running
    response = client.post("/api/v1/interviews", json=body,
                           headers={**people.auth(people.coordinator), "Idempotency-Key": key})
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_in_progress"


def test_a_failed_attempt_can_be_retried(client, people):
    key = "retry-" + uuid.uuid4().hex
    body = interview_body(people, interviewer_id=people.driver.id)  # not an interviewer: 422
    headers = {**people.auth(people.coordinator), "Idempotency-Key": key}
    assert client.post("/api/v1/interviews", json=body, headers=headers).status_code == 422
    assert client.post("/api/v1/interviews", json=body, headers=headers).status_code == 422


def test_transitions_replay_too(client, people):
    interview = book(client, people)
    headers = {**people.auth(people.driver), "Idempotency-Key": "confirm-" + uuid.uuid4().hex}
    first = client.post(f"/api/v1/interviews/{interview['id']}/confirm", headers=headers)
    again = client.post(f"/api/v1/interviews/{interview['id']}/confirm", headers=headers)
    assert first.status_code == again.status_code == 200 and first.text == again.text


def test_key_longer_than_255_is_400(client, people):
    response = client.post("/api/v1/interviews", json=interview_body(people),
                           headers={**people.auth(people.coordinator),
                                    "Idempotency-Key": "k" * 256})
    assert response.status_code == 400
