"""Webhook subscriptions made through the API."""
from __future__ import annotations


def subscribe(client, people, who, url="http://127.0.0.1:9/hook", **fields) -> dict:
    response = client.post("/api/v1/webhooks", json={"webhook": {"url": url, **fields}},
                           headers=people.auth(who))
    assert response.status_code == 201, response.text
    return response.json()["webhook"]
