"""Proposing a new time: propose, accept, reject, withdraw."""
from __future__ import annotations

from tests.helpers.booking import book, bring_to, slot


def propose(client, people, interview, who, start=None, end=None):
    if start is None:
        start, end = slot()
    return client.post(f"/api/v1/interviews/{interview['id']}/amendment",
                       json={"amendment": {"start_at": start, "end_at": end}},
                       headers=people.auth(who))


def act(client, people, interview, action, who):
    """POST /interviews/{id}/{action} (`amendment/accept`, `cancel`, ...) as `who`."""
    return client.post(f"/api/v1/interviews/{interview['id']}/{action}", headers=people.auth(who))


def ms(instant: str) -> str:
    """An instant as the API answers it: with milliseconds."""
    return instant.replace("Z", ".000Z")


def test_propose_then_accept_moves_and_confirms(client, people):
    interview = book(client, people)
    start, end = slot()
    proposed = propose(client, people, interview, people.driver, start, end)
    assert proposed.status_code == 200
    body = proposed.json()["interview"]
    assert (body["amend_start_at"], body["amended_by"]) == (ms(start), people.driver.id)
    assert body["start_at"] == interview["start_at"]  # the current slot stays booked
    assert body["allowed_actions"] == ["confirm", "decline", "cancel", "propose_amendment",
                                       "withdraw_amendment"]
    accepted = act(client, people, interview, "amendment/accept", people.interviewer)
    assert accepted.status_code == 200
    after = accepted.json()["interview"]
    assert (after["start_at"], after["end_at"]) == (ms(start), ms(end))
    assert (after["amend_start_at"], after["amend_end_at"], after["amended_by"]) == (
        None, None, None)
    assert after["status"] == "confirmed"


def test_old_slot_is_freed_after_accept(client, people):
    old_start, old_end = slot()
    interview = book(client, people, old_start, old_end)
    new_start, new_end = slot()
    proposed = propose(client, people, interview, people.interviewer, new_start, new_end)
    assert proposed.status_code == 200, proposed.text
    accepted = act(client, people, interview, "amendment/accept", people.driver)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["interview"]["start_at"] == ms(new_start)
    book(client, people, old_start, old_end)  # 409 overlap while the old slot was held


def test_proposer_cannot_accept(client, people):
    interview = book(client, people)
    propose(client, people, interview, people.driver)
    response = act(client, people, interview, "amendment/accept", people.driver)
    assert response.status_code == 409
    assert "accept_amendment" not in response.json()["allowed_actions"]


def test_accept_without_proposal_is_409(client, people):
    interview = book(client, people)
    response = act(client, people, interview, "amendment/accept", people.driver)
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"


def test_other_sides_open_proposal_blocks_a_new_one(client, people):
    interview = book(client, people)
    propose(client, people, interview, people.driver)
    response = propose(client, people, interview, people.interviewer)
    assert response.status_code == 409
    assert response.json()["code"] == "amendment_pending"


def test_replacing_ones_own_proposal_is_fine(client, people):
    interview = book(client, people)
    propose(client, people, interview, people.interviewer)
    start, end = slot()
    response = propose(client, people, interview, people.coordinator, start, end)  # same side
    assert response.status_code == 200
    assert response.json()["interview"]["amend_start_at"] == ms(start)


def test_reject_by_other_side_clears_and_keeps_the_slot(client, people):
    interview = book(client, people)
    propose(client, people, interview, people.interviewer)
    response = act(client, people, interview, "amendment/reject", people.driver)
    assert response.status_code == 200
    body = response.json()["interview"]
    assert body["amended_by"] is None and body["status"] == "pending"
    assert body["start_at"] == interview["start_at"]


def test_withdraw_by_proposer_only(client, people):
    interview = book(client, people)
    propose(client, people, interview, people.driver)
    path = f"/api/v1/interviews/{interview['id']}/amendment"
    assert client.delete(path, headers=people.auth(people.interviewer)).status_code == 409
    response = client.delete(path, headers=people.auth(people.driver))
    assert response.status_code == 200 and response.json()["interview"]["amended_by"] is None


def test_overlapping_proposal_is_refused_at_once(client, people):
    taken_start, taken_end = slot()
    taken = book(client, people, taken_start, taken_end)
    interview = book(client, people)
    response = propose(client, people, interview, people.driver, taken_start, taken_end)
    assert response.status_code == 409
    assert response.json()["conflicts"] == [taken["id"]]


def test_accept_rechecks_overlap(client, people):
    interview = book(client, people)
    start, end = slot()
    propose(client, people, interview, people.driver, start, end)
    # The proposed slot gets booked (for the same interviewer) before anyone accepts.
    client.post("/api/v1/interviews", json={"interview": {
        "interviewee_id": people.other_interviewee.id, "interviewer_id": people.interviewer.id,
        "kind": "phone_call", "start_at": start, "end_at": end}},
        headers=people.auth(people.coordinator))
    response = act(client, people, interview, "amendment/accept", people.interviewer)
    assert response.status_code == 409 and response.json()["code"] == "overlap"


def test_proposal_on_a_finished_interview_is_409(client, people):
    interview = bring_to(client, people, book(client, people), "declined")
    assert propose(client, people, interview, people.interviewer).status_code == 409


def test_proposal_with_a_bad_duration_is_422(client, people):
    interview = book(client, people)
    response = propose(client, people, interview, people.driver,
                       "2031-05-05T10:00:00Z", "2031-05-05T10:01:00Z")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "amendment.end_at"


def test_cancel_drops_an_open_proposal(client, people):
    interview = book(client, people)
    propose(client, people, interview, people.driver)
    response = act(client, people, interview, "cancel", people.driver)
    assert response.json()["interview"]["amended_by"] is None
