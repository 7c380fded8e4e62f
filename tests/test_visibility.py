"""One visibility rule (`Interview.seen_by`): show, list, history, change feed, webhooks and
the calendar feed agree, for every kind of caller, on who sees an interview."""
from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from db.webhooks import Delivery
from tests.helpers.booking import book, slot
from tests.helpers.webhooks import subscribe

pytestmark = pytest.mark.usefixtures("no_webhooks")  # deliveries are only the test's own

# Who is on a side of the interview `book` makes (its interviewer and interviewee's driver),
# plus every coordinator; the others see nothing of it.
CALLERS = {
    "coordinator": True,
    "interviewer": True,
    "driver": True,
    "other_interviewer": False,
    "other_driver": False,
}
# Within the year ahead that a calendar feed holds; an hour no other test here uses.
SOON = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=40)
hours = itertools.count()


def created_events(client, headers) -> list[dict]:
    """Every `interview.created` event of the caller's change feed, page after page."""
    events, after = [], None
    while True:
        page = client.get("/api/v1/events", params={"type": "interview.created", "limit": 100,
                                                     **({"after": after} if after else {})},
                          headers=headers).json()
        events += page["events"]
        if len(page["events"]) < 100:
            return events
        after = page["next_cursor"]


def sightings(client, people, who, interview_id: int, hook_id: int, feed_url: str) -> dict:
    """Where `who` finds the interview: each surface answers True or False."""
    headers = people.auth(who)
    shown = client.get(f"/api/v1/interviews/{interview_id}",
                       headers=people.auth(people.coordinator))
    start_at = shown.json()["interview"]["start_at"]
    listed = client.get("/api/v1/interviews", params={"start_from": start_at, "limit": 100},
                        headers=headers).json()["interviews"]
    feed = created_events(client, headers)
    from db.models import database

    with database.connection_context():
        payloads = [json.loads(row.payload) for row in
                    Delivery.select().where(Delivery.webhook == hook_id)]
    calendar = client.get(feed_url.split("testserver", 1)[-1]).text
    return {
        "show": client.get(f"/api/v1/interviews/{interview_id}",
                           headers=headers).status_code == 200,
        "history": client.get(f"/api/v1/interviews/{interview_id}/events",
                              headers=headers).status_code == 200,
        "calendar file": client.get(f"/api/v1/interviews/{interview_id}/calendar",
                                    headers=headers).status_code == 200,
        "list": interview_id in {row["id"] for row in listed},
        "change feed": interview_id in {event["interview_id"] for event in feed},
        "webhooks": interview_id in {p["data"]["interview"]["id"] for p in payloads},
        "calendar feed": f"UID:interview-{interview_id}@interviews" in calendar,
    }


@pytest.mark.parametrize("caller, sees", CALLERS.items())
def test_every_surface_agrees_on_who_sees_an_interview(client, people, caller, sees):
    who = getattr(people, caller)
    hook = subscribe(client, people, who)
    feed_url = client.post("/api/v1/me/calendar_feed",
                           headers=people.auth(who)).json()["calendar_feed"]["url"]
    interview = book(client, people, *slot(SOON + timedelta(hours=next(hours))))
    seen = sightings(client, people, who, interview["id"], hook["id"], feed_url)
    assert seen == dict.fromkeys(seen, sees)
