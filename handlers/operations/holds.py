"""Holds: slots kept for their owner while someone decides."""
from __future__ import annotations

from db import holds, scheduling, scheduling_requests
from db.fields import utcnow
from handlers.wire import present
from handlers.wire.timestamps import parse_instant


def create_hold(body: dict, token_info: dict):
    fields = body["hold"]
    slots = [(parse_instant(s["start_at"], f"hold.slots[{n}].start_at"),
              parse_instant(s["end_at"], f"hold.slots[{n}].end_at"), s["interviewer_ids"])
             for n, s in enumerate(fields["slots"])]
    row = (scheduling_requests.hold_option if "scheduling_request_id" in fields
           else scheduling.place_hold)(token_info["caller"], fields, slots)
    return {"hold": present.hold(row, utcnow())}, 201, {
        "Content-Type": present.JSON, "Location": f"/api/v1/holds/{row.id}"}


def show_hold(id: int, token_info: dict):
    row = holds.show_hold(token_info["caller"], id)
    return {"hold": present.hold(row, utcnow())}, 200, {
        "Content-Type": present.JSON, "Cache-Control": "no-store"}


def release_hold(id: int, token_info: dict):
    holds.release_hold(token_info["caller"], id)
    return None, 204
