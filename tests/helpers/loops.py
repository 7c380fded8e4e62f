"""Loops through the API."""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.helpers.booking import iso


def loop_body(interviewee_id: int, rounds: list[tuple[datetime, int, list[dict]]],
              minutes: int = 45, hold_id: int | None = None) -> dict:
    """A loop of rounds (start, lead, panel), each `minutes` long."""
    fields: dict = {"interviewee_id": interviewee_id, "rounds": [
        {"start_at": iso(start), "end_at": iso(start + timedelta(minutes=minutes)),
         "interviewer_id": lead, "panel": panel, "kind": "video_call",
         "location": "https://zoom.com"} for start, lead, panel in rounds]}
    if hold_id is not None:
        fields["hold_id"] = hold_id
    return {"loop": fields}
