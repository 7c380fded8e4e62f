"""Loop search through the API: itineraries a loop booking accepts at once, held times left
out and counted, fairest first, and the property on random schedules, pools and gaps."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.booking import book, iso
from tests.helpers.holds import place
from tests.helpers.people import People, make_interviewee, make_user

BASE = datetime(2038, 9, 6, 8, tzinfo=UTC)  # a Monday
weeks = iter(range(10_000))


def week() -> datetime:
    return BASE + timedelta(weeks=next(weeks))


def search(client, people: People, interviewee_id: int, start: datetime, days: int, rounds,
           who=None, **fields):
    return client.post("/api/v1/loops/search", headers=people.auth(who or people.coordinator),
                       json={"search": {"interviewee_id": interviewee_id, "from": iso(start),
                                        "to": iso(start + timedelta(days=days)),
                                        "rounds": rounds, **fields}})


def book_itinerary(client, people: People, interviewee_id: int, itinerary: dict, modes):
    rounds = []
    for r, mode in zip(itinerary["rounds"], modes, strict=True):
        ids = r["interviewer_ids"]
        lead, panel = (ids[0], ids[1:]) if mode == "all" else (ids[0], [])
        rounds.append({"start_at": r["start_at"], "end_at": r["end_at"], "interviewer_id": lead,
                       "panel": [{"interviewer_id": i, "role": "panelist"} for i in panel],
                       "kind": "video_call", "location": "https://zoom.com"})
    return client.post("/api/v1/loops", headers=people.auth(people.coordinator),
                       json={"loop": {"interviewee_id": interviewee_id, "rounds": rounds}})


def test_three_rounds_in_order_with_gaps_book_at_once(client, people: People):
    crew = [make_user("interviewer") for _ in range(5)]
    start = week()
    candidate = make_interviewee(people.driver).id
    book(client, people, iso(start), iso(start + timedelta(hours=1)), interviewer_id=crew[0].id,
         interviewee_id=make_interviewee(people.driver).id)
    rounds = [{"duration_minutes": 45, "interviewer_ids": [crew[0].id, crew[1].id]},
              {"duration_minutes": 60, "interviewer_ids": [crew[2].id, crew[3].id],
               "mode": "all"},
              {"duration_minutes": 30, "interviewer_ids": [crew[1].id, crew[4].id]}]
    found = search(client, people, candidate, start, 5, rounds,
                   gap_minutes={"min": 15, "max": 30}, limit=5)
    assert found.status_code == 200, found.text
    itineraries = found.json()["itineraries"]
    assert len(itineraries) == 5
    first = itineraries[0]
    assert first["start_at"] == iso(start).replace("Z", ".000Z")
    # crew[0] is busy for the first hour: crew[1] leads round 1, so round 3 has crew[4].
    assert [r["interviewer_ids"][0] for r in first["rounds"]] == [crew[1].id, crew[2].id,
                                                                  crew[4].id]
    for a, b in zip(first["rounds"], first["rounds"][1:], strict=False):
        gap = datetime.fromisoformat(b["start_at"]) - datetime.fromisoformat(a["end_at"])
        assert timedelta(minutes=15) <= gap <= timedelta(minutes=30)
    starts = [[r["start_at"] for r in it["rounds"]] for it in itineraries]
    assert starts == sorted(starts)
    assert found.json()["excluded"]["overlap"] > 0
    booked = book_itinerary(client, people, candidate, first, ["any", "all", "any"])
    assert booked.status_code == 200, booked.text


def test_held_times_are_left_out_and_counted(client, people: People):
    crew = [make_user("interviewer") for _ in range(2)]
    start = week()
    candidate = make_interviewee(people.driver).id
    held = place(client, people, make_interviewee(people.driver).id,
                 [(start, start + timedelta(minutes=30), [crew[0].id])])
    assert held.status_code == 201
    rounds = [{"duration_minutes": 30, "interviewer_ids": [crew[0].id]},
              {"duration_minutes": 30, "interviewer_ids": [crew[1].id]}]
    found = search(client, people, candidate, start, 1, rounds, limit=1).json()
    assert found["excluded"]["held"] == 2  # 08:00 and 08:15 overlap the hold
    assert found["itineraries"][0]["start_at"] == iso(start + timedelta(minutes=30)) \
        .replace("Z", ".000Z")


def test_same_day_in_the_candidates_zone(client, people: People):
    crew = [make_user("interviewer") for _ in range(2)]
    start = week() + timedelta(hours=10)  # 18:00 UTC: 23:30 in Kolkata
    rounds = [{"duration_minutes": 30, "interviewer_ids": [crew[0].id]},
              {"duration_minutes": 30, "interviewer_ids": [crew[1].id]}]
    found = search(client, people, make_interviewee(people.driver).id, start, 1, rounds,
                   same_day=True, time_zone="Asia/Kolkata", limit=1).json()["itineraries"]
    # Round 1 at 23:30 local would end round 2 after local midnight: the first loop is 00:00.
    assert found[0]["start_at"] == iso(start + timedelta(minutes=30)).replace("Z", ".000Z")


def test_bad_searches_are_problems(client, people: People):
    me = make_user("interviewer")
    rounds = [{"duration_minutes": 30, "interviewer_ids": [me.id]}]
    start = week()
    for fields, status in (({"time_zone": "Mars/Olympus"}, 422),
                           ({"gap_minutes": {"min": 30, "max": 10}}, 422)):
        refused = search(client, people, people.interviewee.id, start, 1, rounds, **fields)
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert search(client, people, people.other_interviewee.id, start, 1, rounds,
                  who=people.driver).status_code == 403


hours_ = st.sampled_from([None, {d: [{"start": "09:00", "end": "17:00"}] for d in (
    "monday", "tuesday", "wednesday", "thursday", "friday")}])


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_every_itinerary_offered_books_at_once(client, people: People, data):
    """Random schedules, bookings, pools and gaps: the first itinerary and a random one of
    those offered are each accepted by POST /loops as soon as they are offered."""
    crew = [make_user("interviewer") for _ in range(data.draw(st.integers(2, 5)))]
    start = week()
    for person in crew:
        schedule = {"time_zone": data.draw(st.sampled_from(["UTC", "Europe/London",
                                                            "Asia/Kolkata"])),
                    "working_hours": data.draw(hours_),
                    "buffer_minutes": data.draw(st.sampled_from([0, 10, 30])),
                    "daily_limit": data.draw(st.sampled_from([None, 1, 2])),
                    "minimum_notice_minutes": 0}
        assert client.put(f"/api/v1/interviewers/{person.id}/schedule",
                          headers=people.auth(people.coordinator),
                          json={"schedule": schedule}).status_code == 200, schedule
        for _ in range(data.draw(st.integers(0, 2))):
            at = start + timedelta(minutes=15 * data.draw(st.integers(0, 60)))
            client.post("/api/v1/interviews", headers=people.auth(people.coordinator), json={
                "interview": {"interviewee_id": make_interviewee(people.driver).id,
                              "interviewer_id": person.id, "kind": "video_call",
                              "location": "https://zoom.com", "start_at": iso(at),
                              "end_at": iso(at + timedelta(minutes=45)),
                              "override_schedule": True}})
    ids = [p.id for p in crew]
    modes = [data.draw(st.sampled_from(["any", "all"])) for _ in range(data.draw(
        st.integers(1, 3)))]
    rounds = [{"duration_minutes": data.draw(st.sampled_from([30, 45, 60])), "mode": mode,
               "interviewer_ids": data.draw(st.lists(st.sampled_from(ids), min_size=1,
                                                     max_size=2, unique=True))}
              for mode in modes]
    gap_min = data.draw(st.sampled_from([0, 15]))
    candidate = make_interviewee(people.driver).id
    found = search(client, people, candidate, start, 2, rounds,
                   gap_minutes={"min": gap_min, "max": gap_min + 30},
                   same_day=data.draw(st.booleans()), time_zone="Europe/London", limit=20)
    assert found.status_code == 200, found.text
    itineraries = found.json()["itineraries"]
    if not itineraries:
        return
    chosen = [itineraries[0], data.draw(st.sampled_from(itineraries))]
    for itinerary in chosen[:1] if chosen[0] is chosen[1] else chosen:
        booked = book_itinerary(client, people, candidate, itinerary, modes)
        assert booked.status_code == 200, booked.text
        loop = booked.json()["loop"]
        cancel = client.post(f"/api/v1/loops/{loop['id']}/cancel",
                             headers=people.auth(people.coordinator))
        assert cancel.status_code == 200, cancel.text
