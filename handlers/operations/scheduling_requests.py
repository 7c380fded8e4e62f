"""Scheduling requests: a coordinator offers times, the candidate's driver holds and books one."""
from __future__ import annotations

from db import scheduling_requests as requests
from handlers.wire import present
from handlers.wire.present import scheduling_request_response as answer
from handlers.wire.timestamps import with_instants


def create_scheduling_request(body: dict, token_info: dict):
    fields = with_instants(body["scheduling_request"], "from", "to", "expires_at",
                           prefix="scheduling_request.")
    row = requests.create_request(token_info["caller"], fields)
    return answer(row, 201, {"Location": f"/api/v1/scheduling_requests/{row.id}"})


def show_scheduling_request(id: int, token_info: dict):
    return answer(requests.visible_request(token_info["caller"], id))


def list_scheduling_request_options(id: int, token_info: dict, limit: int = 20):
    found = requests.options(token_info["caller"], id, limit)
    people = requests.interviewers_of(found)
    return {"options": [present.scheduling_option(rounds, people) for rounds in found]}, 200, {
        "Content-Type": present.JSON, "Cache-Control": "no-store"}


def book_scheduling_request(id: int, body: dict, token_info: dict):
    option = with_instants(body["option"], "start_at", prefix="option.")
    return answer(requests.book(token_info["caller"], id, option))


def cancel_scheduling_request(id: int, token_info: dict):
    return answer(requests.cancel_request(token_info["caller"], id))
