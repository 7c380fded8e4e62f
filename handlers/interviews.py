"""Interview operations: take validated arguments, call the rule, shape the answer."""
from __future__ import annotations

from db.scheduling import book_interview, visible_interview
from handlers.present import interview_response


def create_interview(body: dict, token_info: dict):
    caller = token_info["caller"]
    row = book_interview(caller, body["interview"])
    return interview_response(row, caller, headers={"Location": f"/api/v1/interviews/{row.id}"})


create_interview_trailing_slash = create_interview


def show_interview(id: int, token_info: dict):
    caller = token_info["caller"]
    return interview_response(visible_interview(caller, id), caller)
