"""The reference booking page (/booking/) in a real browser against a real server.

Headless Chromium opens the candidate's link (#request=ID&token=DRIVER_TOKEN), sees the times
a coordinator offered in its own time zone, holds one, books it and downloads the .ics file;
a time taken meanwhile, a bad token, an unknown or expired request each get a clear message;
the whole booking works with the keyboard alone and logs no console error.
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.helpers.booking import iso
from tests.helpers.browser import chromium  # noqa: F401 (the `browser` fixture)
from tests.helpers.people import People
from tests.helpers.servers import serving

try:
    from playwright.sync_api import expect
except ImportError:  # then the `browser` fixture skips (or fails) and says why
    expect = None

TAKEN = "That time was just taken"


@pytest.fixture(scope="module")
def base(app, database_url) -> Iterator[str]:
    """One server for the module (the session's database, migrated by `app`)."""
    with serving(database_url, workers=1) as (url, _):
        yield url


def next_week(hour: int = 9, minute: int = 0) -> datetime:
    """A day a week ahead (UTC) at hour:minute: inside any window a request may offer."""
    return (datetime.now(UTC) + timedelta(days=7)).replace(hour=hour, minute=minute, second=0,
                                                           microsecond=0)


def offer(base: str, people: People, rounds: list[tuple[int, list[int]]],
          start: datetime | None = None, hours: int = 8,
          expires_in: timedelta = timedelta(days=2)) -> dict:
    """A scheduling request made by the coordinator through the API: `rounds` (minutes,
    interviewer ids) for people.interviewee inside [start, start + hours]."""
    start = start or next_week()
    body = {"scheduling_request": {
        "interviewee_id": people.interviewee.id, "from": iso(start),
        "to": iso(start + timedelta(hours=hours)),
        "rounds": [{"duration_minutes": m, "interviewer_ids": ids} for m, ids in rounds],
        "gap_minutes": {"min": 0, "max": 30}, "kind": "video_call",
        "location": "https://zoom.com",
        "expires_at": iso(datetime.now(UTC).replace(microsecond=0) + expires_in)}}
    made = httpx.post(base + "/api/v1/scheduling_requests", json=body,
                      headers=people.auth(people.coordinator))
    assert made.status_code == 201, made.text
    return made.json()["scheduling_request"]


def shown(base: str, people: People, request_id: int) -> dict:
    answer = httpx.get(f"{base}/api/v1/scheduling_requests/{request_id}",
                       headers=people.auth(people.coordinator))
    assert answer.status_code == 200, answer.text
    return answer.json()["scheduling_request"]


def driver_token(people: People) -> str:
    return people.auth(people.driver)["Authorization"].removeprefix("Bearer ")


def link(base: str, request_id: int | str, token: str) -> str:
    return f"{base}/booking/#request={request_id}&token={token}"


def local(moment: str, zone: str) -> str:
    """How the page writes a UTC time in `zone`: "Thu 10 Dec, 14:30"."""
    at = datetime.fromisoformat(moment).astimezone(ZoneInfo(zone))
    return f"{at:%a} {at.day} {at:%b}, {at:%H:%M}"


@pytest.fixture
def context(browser):
    made = browser.new_context(timezone_id="UTC", viewport={"width": 900, "height": 700})
    yield made
    made.close()


def watched(page) -> list[str]:
    """Console errors and uncaught exceptions of `page`, as they happen."""
    problems: list[str] = []
    page.on("console", lambda message: message.type == "error" and problems.append(
        f"console: {message.text}"))
    page.on("pageerror", lambda error: problems.append(f"pageerror: {error}"))
    return problems


def downloaded(page, link_locator) -> str:
    with page.expect_download() as download:
        link_locator.click()
    return download.value.path().read_text()


def test_the_candidate_picks_holds_and_books_a_time_and_gets_the_calendar_files(
        base, context, people: People):
    request = offer(base, people, [(45, [people.interviewer.id]),
                                   (30, [people.other_interviewer.id])])
    page = context.new_page()
    page.goto(link(base, request["id"], driver_token(people)))

    options = page.get_by_test_id("option")
    expect(options.first).to_be_visible()
    assert "token=" not in page.url  # gone from the address bar (and the history)
    first = options.first
    start = first.get_attribute("data-start")
    assert start == request["from"]
    expect(first.get_by_test_id("round")).to_have_count(2)  # both rounds, with their people
    expect(first).to_contain_text(people.interviewer.title)
    expect(first).to_contain_text(people.other_interviewer.title)

    first.locator("input[type=radio]").check()
    page.get_by_test_id("hold-button").click()
    countdown = page.get_by_test_id("hold-countdown")
    expect(countdown).to_have_text(re.compile(r"^0[45]:\d\d$"))  # mm:ss of a 5-minute hold
    expect(countdown).not_to_have_text(countdown.text_content())  # it counts down
    expect(page.get_by_test_id("hold")).to_contain_text(local(start, "UTC"))

    page.get_by_test_id("book").click()
    confirmation = page.get_by_test_id("confirmation")
    expect(confirmation).to_be_visible()
    expect(confirmation).to_contain_text(local(start, "UTC"))
    expect(confirmation).to_contain_text(people.interviewer.title)
    expect(confirmation).to_contain_text(people.other_interviewer.title)
    links = page.get_by_test_id("ics-link")
    expect(links).to_have_count(2)
    assert links.first.get_attribute("href").startswith("blob:")
    calendar = downloaded(page, links.first)
    assert calendar.startswith("BEGIN:VCALENDAR") and "BEGIN:VEVENT" in calendar
    assert calendar.rstrip().endswith("END:VCALENDAR")

    booked = shown(base, people, request["id"])
    assert booked["status"] == "booked" and len(booked["interview_ids"]) == 2
    assert f"interview-{booked['interview_ids'][0]}@interviews" in calendar
    first_interview = httpx.get(f"{base}/api/v1/interviews/{booked['interview_ids'][0]}",
                                headers=people.auth(people.coordinator)).json()["interview"]
    assert first_interview["start_at"] == start


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/New_York"])
def test_times_are_shown_in_the_browsers_zone_and_the_zone_is_named(base, browser, people, zone):
    # 02:00 UTC: 07:30 in Kolkata the same day, 21:00 (or 22:00) in New York the day before.
    request = offer(base, people, [(45, [people.interviewer.id])], start=next_week(2))
    context = browser.new_context(timezone_id=zone)
    try:
        page = context.new_page()
        page.goto(link(base, request["id"], driver_token(people)))
        expect(page.get_by_test_id("zone")).to_contain_text(f"Times are shown in {zone}")
        first = page.get_by_test_id("option").first
        assert first.get_attribute("data-start") == request["from"]
        end = iso(datetime.fromisoformat(request["from"])
                  + timedelta(minutes=45))
        wall = local(request["from"], zone)
        expect(first.locator("label")).to_have_text(f"{wall} – {local(end, zone)[-5:]}")
    finally:
        context.close()


def test_a_time_taken_meanwhile_is_explained_and_the_options_refreshed(
        base, context, people: People):
    request = offer(base, people, [(45, [people.interviewer.id])])
    page = context.new_page()
    page.goto(link(base, request["id"], driver_token(people)))
    first = page.get_by_test_id("option").first
    expect(first).to_be_visible()
    start = first.get_attribute("data-start")
    end = iso(datetime.fromisoformat(start) + timedelta(minutes=45))

    taken = httpx.post(base + "/api/v1/interviews", headers=people.auth(people.coordinator),
                       json={"interview": {
                           "interviewee_id": people.other_interviewee.id,
                           "interviewer_id": people.interviewer.id, "kind": "video_call",
                           "location": "https://zoom.com", "start_at": start, "end_at": end}})
    assert taken.status_code == 200, taken.text

    first.locator("input[type=radio]").check()
    page.get_by_test_id("hold-button").click()
    expect(page.get_by_test_id("message")).to_contain_text(TAKEN)
    expect(page.get_by_test_id("options")).to_be_visible()
    expect(page.locator(f'[data-testid=option][data-start="{start}"]')).to_have_count(0)
    expect(page.get_by_test_id("option").first).to_be_visible()
    assert page.get_by_test_id("option").first.get_attribute("data-start") > start
    assert shown(base, people, request["id"])["status"] == "open"


def test_a_whole_booking_logs_no_console_error(base, context, people: People):
    request = offer(base, people, [(30, [people.interviewer.id])])
    page = context.new_page()
    problems = watched(page)
    page.goto(link(base, request["id"], driver_token(people)))
    page.get_by_test_id("option").first.locator("input[type=radio]").check()
    page.get_by_test_id("hold-button").click()
    expect(page.get_by_test_id("hold-countdown")).to_be_visible()
    page.get_by_test_id("release").click()  # let go, then pick the second time
    expect(page.get_by_test_id("options")).to_be_visible()
    page.get_by_test_id("option").nth(1).locator("input[type=radio]").check()
    page.get_by_test_id("hold-button").click()
    page.get_by_test_id("book").click()
    expect(page.get_by_test_id("ics-link")).to_have_count(1)
    page.reload()  # a booked request shows its confirmation again (after the paste form)
    expect(page.get_by_test_id("access-form")).to_be_visible()
    page.get_by_label("Access token").fill(driver_token(people))
    page.get_by_role("button", name="Show my times").click()
    expect(page.get_by_test_id("confirmation")).to_be_visible()
    expect(page.get_by_test_id("ics-link")).to_have_count(1)
    assert problems == []
    assert shown(base, people, request["id"])["status"] == "booked"


def test_the_keyboard_alone_books_with_a_visible_focus_ring(base, context, people: People):
    request = offer(base, people, [(30, [people.interviewer.id])])
    page = context.new_page()
    page.goto(link(base, request["id"], driver_token(people)))
    expect(page.get_by_test_id("option").first).to_be_visible()
    start = page.get_by_test_id("option").first.get_attribute("data-start")

    keyboard = page.keyboard
    keyboard.press("Tab")  # into the radio group (one tab stop): its first time
    focused = page.evaluate("""() => {
        const element = document.activeElement, style = getComputedStyle(element);
        return {name: element.name, checked: element.checked, outline: style.outlineStyle,
                width: parseFloat(style.outlineWidth), colour: style.outlineColor};
    }""")
    assert focused["name"] == "option" and not focused["checked"], focused
    assert focused["outline"] == "solid" and focused["width"] >= 2, focused
    assert focused["colour"] == "rgb(179, 38, 30)", focused  # dark red: 6.5:1 on white
    keyboard.press("Space")
    assert page.evaluate("document.activeElement.checked") is True
    keyboard.press("Tab")
    assert page.evaluate("document.activeElement.dataset.testid") == "hold-button"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    keyboard.press("Enter")
    expect(page.get_by_test_id("hold-countdown")).to_be_visible()
    keyboard.press("Tab")  # focus went to the hold's heading; next is the book button
    assert page.evaluate("document.activeElement.dataset.testid") == "book"
    keyboard.press("Enter")
    expect(page.get_by_test_id("confirmation")).to_be_visible()
    expect(page.get_by_test_id("ics-link")).to_have_count(1)

    booked = shown(base, people, request["id"])
    assert booked["status"] == "booked"
    interview = httpx.get(f"{base}/api/v1/interviews/{booked['interview_ids'][0]}",
                          headers=people.auth(people.coordinator)).json()["interview"]
    assert interview["start_at"] == start


def test_a_bad_token_an_unknown_and_an_expired_request_are_explained(
        base, context, people: People):
    expiring = offer(base, people, [(30, [people.interviewer.id])],
                     expires_in=timedelta(seconds=2))
    page = context.new_page()
    message = page.get_by_test_id("message")

    page.goto(link(base, expiring["id"], "not-a-token"))
    expect(message).to_contain_text("access token was not accepted")
    expect(page.get_by_label("Access token")).to_be_visible()  # to paste a good one
    expect(page.get_by_test_id("options")).to_be_hidden()

    page.goto(link(base, 999_999_999_999, driver_token(people)))
    expect(message).to_contain_text("could not find this booking request")

    time.sleep(max(0.0, datetime.fromisoformat(expiring["expires_at"])
                   .timestamp() - time.time() + 0.2))
    page.goto(link(base, expiring["id"], driver_token(people)))
    expect(message).to_contain_text("This booking request has expired")
    expect(message).to_contain_text("contact your coordinator")
    expect(page.get_by_test_id("options")).to_be_hidden()
