"""Loops: several rounds of one interviewee, searched for, booked and cancelled together."""
from __future__ import annotations

from db import availability, loops
from handlers.wire import present
from handlers.wire.timestamps import with_instants


def create_loop(body: dict, token_info: dict):
    caller = token_info["caller"]
    fields = body["loop"]
    rounds = [with_instants(r, "start_at", "end_at", prefix=f"rounds[{n}].")
              for n, r in enumerate(fields["rounds"])]
    loop, rounds = loops.book_loop(caller, {**fields, "rounds": rounds})
    return present.loop_response(loop, rounds, caller,
                                 {"Location": f"/api/v1/loops/{loop.id}"})


def show_loop(id: int, token_info: dict):
    caller = token_info["caller"]
    return present.loop_response(*loops.show_loop(caller, id), caller)


def cancel_loop(id: int, token_info: dict, body: dict | None = None):
    caller = token_info["caller"]
    return present.loop_response(*loops.cancel_loop(caller, id, (body or {}).get("reason")),
                                 caller)


def search_loops(body: dict, token_info: dict):
    fields = with_instants(body["search"], "from", "to", prefix="search.")
    itineraries, excluded = availability.search_loops(token_info["caller"], fields)
    return {"itineraries": [present.itinerary(rounds) for rounds in itineraries],
            "excluded": excluded}, 200, {"Content-Type": present.JSON, "Cache-Control": "no-store"}
