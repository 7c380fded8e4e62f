"""A working week and the call that sets it."""
from __future__ import annotations

from tests.helpers.people import People

WEEK = {day: [{"start": "09:00", "end": "17:00"}]
        for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}


SCHEDULE = {"time_zone": "Europe/London", "working_hours": WEEK, "buffer_minutes": 10,
            "daily_limit": 3, "minimum_notice_minutes": 120}


def put_schedule(client, people: People, schedule: dict | None = None, who=None, **headers):
    return client.put(f"/api/v1/interviewers/{people.interviewer.id}/schedule",
                      json={"schedule": schedule or SCHEDULE},
                      headers={**people.auth(who or people.coordinator), **headers})
