"""Fairness, measured: booking the first id of each `mode=any` slot balances the load."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from tests.helpers.booking import book, iso
from tests.helpers.people import People, make_interviewee, make_user

SLOTS = 200
POOL = 4
# A Friday: the 200 successive half-hours (100 hours) cross into the next local ISO week,
# where the week's counts start again and the 28 days before decide.
FRIDAY = datetime(2039, 7, 1, tzinfo=UTC)


def book_successive_slots(client, people: People, start: datetime) -> list[int]:
    """Over a pool of equally free interviewers, book the first id of each successive slot;
    the picks as ranks in the pool (0: the lowest id), after checking the loads each time."""
    pool = [make_user("interviewer") for _ in range(POOL)]
    ranks = {person.id: n for n, person in enumerate(sorted(pool, key=lambda p: p.id))}
    loads: Counter = Counter()
    picks = []
    for n in range(SLOTS):
        begin = start + timedelta(minutes=30 * n)
        query = {"interviewee_id": people.interviewee.id, "interviewer_id": [p.id for p in pool],
                 "from": iso(begin), "to": iso(begin + timedelta(minutes=30)),
                 "duration_minutes": 30, "step_minutes": 30, "limit": 1, "mode": "any"}
        answer = client.get("/api/v1/availability", headers=people.auth(people.coordinator),
                            params=query)
        assert answer.status_code == 200, answer.text
        (slot,) = answer.json()["slots"]
        assert sorted(slot["interviewer_ids"]) == sorted(ranks)  # everyone is free
        chosen = slot["interviewer_ids"][0]
        book(client, people, slot["start_at"], slot["end_at"], interviewer_id=chosen,
             interviewee_id=make_interviewee(people.driver).id)
        loads[chosen] += 1
        picks.append(ranks[chosen])
        assert max(loads[i] for i in ranks) - min(loads[i] for i in ranks) <= 1, (n, loads)
    assert sorted(loads.values()) == [SLOTS // POOL] * POOL
    return picks


def test_first_ids_of_successive_slots_balance_the_load_and_repeat(client, people: People):
    picks = book_successive_slots(client, people, FRIDAY)
    print(f"\nfairness: {SLOTS} slots over {POOL} interviewers -> loads "
          f"{sorted(Counter(picks).values())}; first picks {picks[:12]}")
    # The same data (a fresh pool, no history, the same weekdays a year on) gives the same picks.
    assert book_successive_slots(client, people, FRIDAY + timedelta(weeks=52)) == picks
