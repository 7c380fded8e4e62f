"""Webhooks, the resource: ownership, validation, and the outbox rows every change writes."""
from __future__ import annotations

import ipaddress
import json

import pytest

from db import scheduling
from db.webhooks import Delivery
from handlers.outbound import ssrf as webhook_handlers
from tests.helpers.booking import book, bring_to, interview_body, slot
from tests.helpers.webhooks import subscribe

pytestmark = pytest.mark.usefixtures("no_webhooks")  # deliveries are only the test's own

EVERY_EVENT = sorted(["interview.created", "interview.updated", "interview.confirmed",
                      "interview.declined", "interview.cancelled", "interview.completed",
                      "interview.no_show", "interview.amendment_proposed",
                      "interview.amendment_accepted", "interview.amendment_rejected",
                      "interview.amendment_withdrawn"])


def deliveries(hook_id: int) -> list[dict]:
    from db.models import database

    with database.connection_context():
        rows = Delivery.select().where(Delivery.webhook == hook_id).order_by(Delivery.id)
        return [json.loads(row.payload) for row in rows]


def test_create_shows_the_secret_once(client, people):
    hook = subscribe(client, people, people.driver, events=["interview.confirmed"],
                     description="mine")
    assert hook["secret"].startswith("whsec_") and hook["enabled"] is True
    assert hook["events"] == ["interview.confirmed"] and hook["description"] == "mine"
    shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=people.auth(people.driver))
    assert shown.status_code == 200 and "secret" not in shown.json()["webhook"]
    listed = client.get("/api/v1/webhooks", headers=people.auth(people.driver)).json()["webhooks"]
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]


def test_another_users_webhook_is_404_everywhere(client, people):
    hook = subscribe(client, people, people.driver)
    other = people.auth(people.other_driver)
    base = f"/api/v1/webhooks/{hook['id']}"
    ping = client.post(base + "/ping", headers=people.auth(people.driver)).json()["delivery"]
    assert client.get(base, headers=other).status_code == 404
    assert client.patch(base, json={"webhook": {"enabled": False}},
                        headers=other).status_code == 404
    assert client.delete(base, headers=other).status_code == 404
    assert client.post(base + "/rotate_secret", headers=other).status_code == 404
    assert client.post(base + "/ping", headers=other).status_code == 404
    assert client.get(base + "/deliveries", headers=other).status_code == 404
    assert client.post(f"{base}/deliveries/{ping['id']}/retry", headers=other).status_code == 404
    assert client.get("/api/v1/webhooks", headers=other).json() == {"webhooks": []}


def test_unknown_event_name_is_400(client, people):
    response = client.post("/api/v1/webhooks", json={"webhook": {
        "url": "https://example.com/hook", "events": ["interview.exploded"]}},
        headers=people.auth(people.coordinator))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


def test_update_and_delete(client, people):
    hook = subscribe(client, people, people.interviewer)
    base, auth = f"/api/v1/webhooks/{hook['id']}", people.auth(people.interviewer)
    changed = client.patch(base,
                           json={"webhook": {"enabled": False, "events": ["interview.created"]}},
                           headers=auth)
    assert changed.status_code == 200
    assert changed.json()["webhook"]["enabled"] is False
    assert changed.json()["webhook"]["events"] == ["interview.created"]
    assert client.post(base + "/ping", headers=auth).json()["code"] == "webhook_disabled"
    assert client.delete(base, headers=auth).status_code == 204
    assert client.get(base, headers=auth).status_code == 404


def test_rotation_answers_a_new_secret(client, people):
    hook = subscribe(client, people, people.driver)
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate_secret",
                          headers=people.auth(people.driver))
    assert rotated.status_code == 200
    assert rotated.json()["webhook"]["secret"].startswith("whsec_")
    assert rotated.json()["webhook"]["secret"] != hook["secret"]


class Resolver:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers

    async def __call__(self, host: str, port: int):
        if host not in self.answers:
            raise OSError("name not known")
        return [ipaddress.ip_address(a) for a in self.answers[host]]


@pytest.mark.parametrize("url, reason", [
    ("http://hooks.example.com/x", "https"),
    ("https://127.0.0.1/x", "127.0.0.1"),
    ("https://[::1]:8443/x", "::1"),
    ("https://10.1.2.3/x", "10.1.2.3"),
    ("https://169.254.169.254/latest", "169.254.169.254"),
    ("https://224.0.0.1/x", "224.0.0.1"),
    ("https://0.0.0.0/x", "0.0.0.0"),
    ("https://inside.example.com/x", "192.168.1.5"),
    ("https://mixed.example.com/x", "127.0.0.1"),
    ("https://nowhere.example.com/x", "does not resolve"),
    ("https://user:pw@hooks.example.com/x", "credentials"),
])
def test_production_refuses_urls_that_are_not_public_https(client, people, monkeypatch, url,
                                                           reason):
    monkeypatch.setattr(webhook_handlers, "allow_private", False)
    monkeypatch.setattr(webhook_handlers, "resolver", Resolver({
        "hooks.example.com": ["93.184.216.34"], "inside.example.com": ["192.168.1.5"],
        "mixed.example.com": ["93.184.216.34", "127.0.0.1"]}))
    response = client.post("/api/v1/webhooks", json={"webhook": {"url": url}},
                           headers=people.auth(people.coordinator))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "webhook_url_not_allowed"
    assert reason in response.json()["detail"]


def test_production_accepts_https_to_a_public_address(client, people, monkeypatch):
    monkeypatch.setattr(webhook_handlers, "allow_private", False)
    monkeypatch.setattr(webhook_handlers, "resolver",
                        Resolver({"hooks.example.com": ["93.184.216.34"]}))
    subscribe(client, people, people.coordinator, url="https://hooks.example.com/x")


def walk(client, people) -> dict:
    """Create, edit, confirm, propose, accept, propose, reject, propose, withdraw, cancel."""
    interview = book(client, people)
    base, i, d = (f"/api/v1/interviews/{interview['id']}", people.auth(people.interviewer),
                  people.auth(people.driver))
    steps = [("patch", "", {"interview": {"kind": "phone_call", "location": None}}, i),
             ("post", "/confirm", None, d)]
    for ending in ("/amendment/accept", "/amendment/reject", None):
        start, end = slot()
        steps.append(("post", "/amendment", {"amendment": {"start_at": start, "end_at": end}}, d))
        steps.append(("post", ending, None, i) if ending else ("delete", "/amendment", None, d))
    steps.append(("post", "/cancel", {"reason": "no longer needed"}, i))
    for method, path, body, auth in steps:
        response = client.request(method, base + path, json=body, headers=auth)
        assert response.status_code == 200, (path, response.text)
    return interview


def test_every_recorded_change_is_an_event_with_the_owners_view(client, people):
    driver_hook = subscribe(client, people, people.driver)
    coordinator_hook = subscribe(client, people, people.coordinator)
    interview = walk(client, people)
    history = client.get(f"/api/v1/interviews/{interview['id']}/events",
                         headers=people.auth(people.coordinator)).json()["events"]
    events = deliveries(driver_hook["id"])
    assert [e["type"] for e in events] == [
        "interview.created", "interview.updated", "interview.confirmed",
        "interview.amendment_proposed", "interview.amendment_accepted",
        "interview.amendment_proposed", "interview.amendment_rejected",
        "interview.amendment_proposed", "interview.amendment_withdrawn", "interview.cancelled"]
    assert [e["id"] for e in events] == [f"evt_{h['id']}" for h in history]
    assert [e["id"] for e in deliveries(coordinator_hook["id"])] == [e["id"] for e in events]
    assert [e["sequence"] for e in events] == list(range(1, 11))
    for event, entry in zip(events, history, strict=True):
        assert event["data"]["changes"] == entry["changes"]
        assert event["data"]["actor_id"] == entry["actor_id"]
        assert event["data"]["reason"] == entry["reason"]
        assert event["occurred_at"] == entry["at"]
    created, confirmed, cancelled = events[0], events[2], events[-1]
    assert created["data"]["interview"]["allowed_actions"] == ["confirm", "decline", "cancel",
                                                               "propose_amendment"]
    assert confirmed["data"]["interview"]["status"] == "confirmed"
    assert cancelled["data"]["interview"]["allowed_actions"] == []
    assert cancelled["data"]["reason"] == "no longer needed"
    by_coordinator = deliveries(coordinator_hook["id"])[0]["data"]["interview"]["allowed_actions"]
    assert by_coordinator == ["edit", "cancel", "propose_amendment"]


def test_events_only_of_interviews_the_owner_may_see(client, people):
    mine = subscribe(client, people, people.driver)
    theirs = subscribe(client, people, people.other_driver)
    interviewer = subscribe(client, people, people.other_interviewer)
    own = book(client, people)
    other = book(client, people, interviewee_id=people.other_interviewee.id)
    bring_to(client, people, own, "confirmed")
    assert {e["data"]["interview"]["id"] for e in deliveries(mine["id"])} == {own["id"]}
    assert len(deliveries(mine["id"])) == 2
    assert {e["data"]["interview"]["id"] for e in deliveries(theirs["id"])} == {other["id"]}
    assert deliveries(interviewer["id"]) == []


def test_only_the_events_subscribed_to(client, people):
    hook = subscribe(client, people, people.interviewer, events=["interview.confirmed"])
    bring_to(client, people, book(client, people), "confirmed")
    assert [e["type"] for e in deliveries(hook["id"])] == ["interview.confirmed"]


def test_a_disabled_webhook_gets_no_events(client, people):
    hook = subscribe(client, people, people.coordinator)
    client.patch(f"/api/v1/webhooks/{hook['id']}", json={"webhook": {"enabled": False}},
                 headers=people.auth(people.coordinator))
    book(client, people)
    assert deliveries(hook["id"]) == []


def test_a_change_that_rolls_back_writes_no_delivery(client, people, monkeypatch):
    hook = subscribe(client, people, people.coordinator)
    interview = book(client, people)
    original = scheduling.record

    def record_then_fail(*args, **kwargs):
        original(*args, **kwargs)  # history and deliveries written...
        raise RuntimeError("boom")  # ...then the transaction rolls back

    monkeypatch.setattr(scheduling, "record", record_then_fail)
    response = client.post(f"/api/v1/interviews/{interview['id']}/confirm",
                           headers=people.auth(people.driver))
    assert response.status_code == 500
    failed = client.post("/api/v1/interviews", json=interview_body(people),
                         headers=people.auth(people.coordinator))
    assert failed.status_code == 500
    monkeypatch.setattr(scheduling, "record", original)
    assert [e["type"] for e in deliveries(hook["id"])] == ["interview.created"]
    shown = client.get(f"/api/v1/interviews/{interview['id']}", headers=people.auth(people.driver))
    assert shown.json()["interview"]["status"] == "pending"
    bring_to(client, people, interview, "confirmed")
    assert [e["type"] for e in deliveries(hook["id"])] == ["interview.created",
                                                           "interview.confirmed"]


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("::1", False), ("10.0.0.1", False), ("172.16.5.4", False),
    ("192.168.0.1", False), ("169.254.169.254", False), ("fe80::1", False), ("fc00::1", False),
    ("224.0.0.1", False), ("ff02::1", False), ("0.0.0.0", False), ("::", False),
    ("100.64.0.1", False), ("::ffff:127.0.0.1", False), ("::ffff:93.184.216.34", True),
])
def test_which_addresses_are_public(address, public):
    from handlers.outbound.ssrf import is_public

    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize("url", ["https://a..b.example/x", "https://" + "a" * 64 + ".example/x"])
def test_a_host_no_resolver_can_encode_is_400_not_500(client, people, monkeypatch, url):
    monkeypatch.setattr(webhook_handlers, "allow_private", False)
    response = client.post("/api/v1/webhooks", json={"webhook": {"url": url}},
                           headers=people.auth(people.coordinator))
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "webhook_url_not_allowed"


def test_answers_holding_a_secret_are_not_kept_for_replay(client, people, db):
    from db.idempotency import IdempotencyKey

    headers = {**people.auth(people.coordinator), "Idempotency-Key": "hook-with-a-secret"}
    created = client.post("/api/v1/webhooks", json={"webhook": {"url": "http://127.0.0.1:9/h"}},
                          headers=headers)
    assert created.status_code == 201, created.text
    rotated = client.post(f"/api/v1/webhooks/{created.json()['webhook']['id']}/rotate_secret",
                          headers=headers)
    assert rotated.status_code == 200, rotated.text
    stored = [row.body or "" for row in IdempotencyKey.select().where(
        IdempotencyKey.user_id == people.coordinator.id)]
    for secret in (created.json()["webhook"]["secret"], rotated.json()["webhook"]["secret"]):
        assert not any(secret in body for body in stored)
