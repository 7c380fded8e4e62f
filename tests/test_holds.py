"""Holds: slots kept for their owner while someone decides, checked as bookings are, and
consumed by a booking that names them."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from db.holds import HoldSeat
from tests.helpers.booking import book, interview_body, iso
from tests.helpers.holds import clock_ahead, place
from tests.helpers.people import People, make_interviewee, make_user

BASE = datetime(2036, 5, 5, 9, tzinfo=UTC)
steps = iter(range(10_000))


def fresh(minutes: int = 30) -> tuple[datetime, datetime]:
    start = BASE + timedelta(hours=next(steps) * 3)
    return start, start + timedelta(minutes=minutes)


def create(client, people: People, start: datetime, end: datetime, who=None, **fields):
    fields.setdefault("interviewee_id", make_interviewee(people.driver).id)
    return client.post("/api/v1/interviews", json=interview_body(people, iso(start), iso(end),
                                                                  **fields),
                       headers=people.auth(who or people.coordinator))


@pytest.fixture
def held(client, people: People):
    """A hold of one slot of the people's interviewee with their interviewer."""
    start, end = fresh()
    response = place(client, people, people.interviewee.id,
                     [(start, end, [people.interviewer.id])])
    assert response.status_code == 201, response.text
    return start, end, response.json()["hold"]


def test_a_hold_is_created_and_shown_to_its_owner(client, people: People, held):
    start, end, hold = held
    assert hold["status"] == "active"
    assert hold["slots"] == [{"start_at": iso(start).replace("Z", ".000Z"),
                              "end_at": iso(end).replace("Z", ".000Z"),
                              "interviewer_ids": [people.interviewer.id]}]
    expires = datetime.fromisoformat(hold["expires_at"])
    created = datetime.fromisoformat(hold["created_at"])
    assert expires - created == timedelta(seconds=300)
    shown = client.get(f"/api/v1/holds/{hold['id']}", headers=people.auth(people.coordinator))
    assert shown.status_code == 200 and shown.json()["hold"] == hold
    for stranger in (people.interviewer, people.driver, make_user("coordinator")):
        other = client.get(f"/api/v1/holds/{hold['id']}", headers=people.auth(stranger))
        assert other.status_code == 404, other.text


def test_a_held_interviewer_cannot_be_booked_or_held_by_anyone_else(client, people, held):
    start, end, hold = held
    refused = create(client, people, start + timedelta(minutes=15), end)
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["code"] == "held" and problem["expires_at"] == hold["expires_at"]
    assert set(problem) == {"type", "title", "status", "detail", "code", "expires_at"}
    again = place(client, people, make_interviewee(people.driver).id,
                  [(start, end, [people.interviewer.id])])
    assert again.status_code == 409 and again.json()["code"] == "held"
    # Other people at that time, and the same people next to it, are free.
    assert create(client, people, start, end, interviewer_id=people.other_interviewer.id) \
        .status_code == 200
    assert create(client, people, end, end + timedelta(minutes=30)).status_code == 200


def test_a_held_interviewee_cannot_be_booked_with_anyone_else(client, people, held):
    start, end, _ = held
    refused = create(client, people, start, end, interviewer_id=people.other_interviewer.id,
                     interviewee_id=people.interviewee.id)
    assert refused.status_code == 409 and refused.json()["code"] == "held"


def test_a_panel_member_who_is_held_refuses_the_panel(client, people, held):
    start, end, _ = held
    lead = make_user("interviewer")
    refused = create(client, people, start, end, interviewer_id=lead.id,
                     panel=[{"interviewer_id": people.interviewer.id, "role": "shadow"}])
    assert refused.status_code == 409 and refused.json()["code"] == "held"


def test_the_owner_books_over_the_hold_with_hold_id_and_it_is_used(client, people, held):
    start, end, hold = held
    booked = create(client, people, start, end, interviewee_id=people.interviewee.id,
                    hold_id=hold["id"])
    assert booked.status_code == 200, booked.text
    shown = client.get(f"/api/v1/holds/{hold['id']}", headers=people.auth(people.coordinator))
    assert shown.json()["hold"]["status"] == "used"
    again = create(client, people, start, end, interviewee_id=people.interviewee.id,
                   hold_id=hold["id"])
    assert again.status_code == 409 and again.json()["code"] == "hold_used"
    assert client.delete(f"/api/v1/holds/{hold['id']}",
                         headers=people.auth(people.coordinator)).json()["code"] == "hold_used"


@pytest.mark.parametrize("change", ["later", "other_interviewer", "other_interviewee",
                                    "extra_panelist"])
def test_a_booking_unlike_its_hold_is_a_mismatch(client, people, held, change):
    start, end, hold = held
    fields = {"interviewee_id": people.interviewee.id, "hold_id": hold["id"]}
    if change == "later":
        start, end = start + timedelta(minutes=5), end + timedelta(minutes=5)
    elif change == "other_interviewer":
        fields["interviewer_id"] = people.other_interviewer.id
    elif change == "other_interviewee":
        fields["interviewee_id"] = people.other_interviewee.id
    else:
        fields["panel"] = [{"interviewer_id": people.other_interviewer.id, "role": "panelist"}]
    refused = create(client, people, start, end, **fields)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "hold_mismatch"
    assert refused.json()["errors"][0]["field"] == "interview.hold_id"


def test_someone_elses_hold_id_is_not_found(client, people, held):
    start, end, hold = held
    other = make_user("coordinator")
    refused = create(client, people, start, end, who=other, interviewee_id=people.interviewee.id,
                     hold_id=hold["id"])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "interview.hold_id"


def test_an_expired_hold_blocks_nothing_and_cannot_be_used(client, people, held):
    start, end, hold = held
    with clock_ahead(timedelta(seconds=301)):
        shown = client.get(f"/api/v1/holds/{hold['id']}", headers=people.auth(people.coordinator))
        assert shown.json()["hold"]["status"] == "expired"
        late = create(client, people, start, end, interviewee_id=people.interviewee.id,
                      hold_id=hold["id"])
        assert late.status_code == 409 and late.json()["code"] == "hold_expired"
        assert late.json()["expires_at"] == hold["expires_at"]
        assert create(client, people, start, end).status_code == 200
    # Nothing tidied the seats away: the clock alone decided.
    assert HoldSeat.select().where(HoldSeat.hold == hold["id"], HoldSeat.active == True).count()


def test_a_hold_still_blocks_a_moment_before_it_expires(client, people, held):
    start, end, _ = held
    with clock_ahead(timedelta(seconds=299)):
        assert create(client, people, start, end).json()["code"] == "held"


def test_releasing_frees_the_slot_at_once(client, people, held):
    start, end, hold = held
    url = f"/api/v1/holds/{hold['id']}"
    assert client.delete(url, headers=people.auth(people.interviewer)).status_code == 404
    assert client.delete(url, headers=people.auth(people.coordinator)).status_code == 204
    assert client.delete(url, headers=people.auth(people.coordinator)).status_code == 204
    assert client.get(url, headers=people.auth(people.coordinator)).json()["hold"]["status"] \
        == "released"
    assert create(client, people, start, end).status_code == 200
    late = create(client, people, start, end + timedelta(minutes=30),
                  interviewee_id=people.interviewee.id, hold_id=hold["id"])
    assert late.status_code == 409 and late.json()["code"] == "hold_expired"


def test_each_slot_is_checked_as_a_booking_and_a_refusal_names_it(client, people: People):
    (a_start, a_end), (b_start, b_end) = fresh(), fresh()
    taken = book(client, people, iso(b_start), iso(b_end),
                 interviewee_id=make_interviewee(people.driver).id)
    interviewee = make_interviewee(people.driver)
    refused = place(client, people, interviewee.id, [
        (a_start, a_end, [people.other_interviewer.id]), (b_start, b_end, [people.interviewer.id])])
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert problem["code"] == "overlap" and problem["conflicts"] == [taken["id"]]
    assert problem["errors"][0]["field"] == "hold.slots[1]"
    # All or nothing: the first slot was not held either.
    assert create(client, people, a_start, a_end,
                  interviewer_id=people.other_interviewer.id).status_code == 200


def test_a_hold_of_several_slots_holds_each(client, people: People):
    (a_start, a_end), (b_start, b_end) = fresh(), fresh()
    interviewee = make_interviewee(people.driver)
    made = place(client, people, interviewee.id, [
        (a_start, a_end, [people.interviewer.id]),
        (b_start, b_end, [people.other_interviewer.id, people.interviewer.id])])
    assert made.status_code == 201, made.text
    for start, end, who in ((a_start, a_end, people.interviewer),
                            (b_start, b_end, people.other_interviewer),
                            (b_start, b_end, people.interviewer)):
        assert create(client, people, start, end, interviewer_id=who.id).json()["code"] == "held"


def test_who_may_hold(client, people: People):
    start, end = fresh()
    interviewee = people.interviewee.id
    own = [(start, end, [people.interviewer.id])]
    assert place(client, people, interviewee, own, who=people.driver).status_code == 403
    assert place(client, people, interviewee, [(start, end, [people.other_interviewer.id])],
                 who=people.interviewer).status_code == 403
    mine = place(client, people, interviewee, own, who=people.interviewer)
    assert mine.status_code == 201, mine.text


@pytest.mark.parametrize(("slots", "field"), [
    ("overlapping", "hold.slots[1]"),
    ("repeated", "hold.slots[0].interviewer_ids"),
    ("not_interviewer", "hold.slots[0].interviewer_ids[0]"),
    ("backwards", "hold.slots[0].end_at"),
])
def test_bad_slots_are_422_naming_the_field(client, people: People, slots, field):
    start, end = fresh()
    me = people.interviewer.id
    body = {"overlapping": [(start, end, [me]), (start + timedelta(minutes=10), end,
                                                 [people.other_interviewer.id])],
            "repeated": [(start, end, [me, me])],
            "not_interviewer": [(start, end, [people.driver.id])],
            "backwards": [(end, start, [me])]}[slots]
    refused = place(client, people, people.interviewee.id, body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == field


@pytest.mark.parametrize("ttl", [29, 901])
def test_ttl_outside_30_to_900_seconds_is_refused(client, people: People, ttl):
    start, end = fresh()
    refused = place(client, people, people.interviewee.id, [(start, end, [people.interviewer.id])],
                    ttl_seconds=ttl)
    assert refused.status_code == 400, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")


def test_availability_leaves_held_time_out_and_counts_it(client, people: People, held):
    start, end, _ = held
    query = (f"/api/v1/availability?interviewee_id={people.other_interviewee.id}"
             f"&interviewer_id={people.interviewer.id}&duration_minutes=30&step_minutes=30"
             f"&from={iso(start - timedelta(minutes=30))}&to={iso(end + timedelta(minutes=30))}")
    found = client.get(query, headers=people.auth(people.coordinator)).json()
    assert [s["start_at"][11:16] for s in found["slots"]] == [
        f"{(start - timedelta(minutes=30)).hour:02d}:30", f"{end.hour:02d}:{end.minute:02d}"]
    assert found["excluded"]["held"] == 1


def test_people_are_locked_by_the_hours_their_time_touches():
    """Bookings and holds of one person take turns only where their times could overlap:
    overlapping spans share a lock key, spans in other hours share none."""
    from db.connection import lock_keys

    at = datetime(2040, 1, 1, 9, tzinfo=UTC)
    morning = lock_keys([7], [8], at, at + timedelta(minutes=30))
    assert morning == sorted(morning) and len(morning) == 2  # one hour, two people
    overlapping = lock_keys([7], [], at + timedelta(minutes=20), at + timedelta(minutes=50))
    assert set(overlapping) <= set(morning)
    spanning = lock_keys([7], [], at + timedelta(minutes=50), at + timedelta(hours=2, minutes=10))
    assert len(spanning) == 3 and set(spanning) & set(morning)
    later = lock_keys([7], [8], at + timedelta(hours=1), at + timedelta(hours=2))
    assert not set(later) & set(morning)  # back to back: no shared hour, no wait
    assert not set(lock_keys([8], [], at, at + timedelta(minutes=30))) & set(
        lock_keys([], [8], at, at + timedelta(minutes=30)))  # an interviewer is not a candidate
    early = datetime(1901, 5, 1, 8, 59, 59, 500_000, tzinfo=UTC)  # before 1970, mid-second
    assert set(lock_keys([7], [], early, early + timedelta(seconds=1))) & set(
        lock_keys([7], [], early - timedelta(hours=1), early + timedelta(milliseconds=1)))
