"""Interviews as iCalendar (RFC 5545), generated with the `icalendar` package."""
from __future__ import annotations

from icalendar import Calendar, vCalAddress
from icalendar import Event as VEvent

from db.models import Interview

CALENDAR = "text/calendar"  # the middleware adds `; charset=utf-8` after validation
STATUS = {"pending": "TENTATIVE", "confirmed": "CONFIRMED", "completed": "CONFIRMED",
          "no_show": "CONFIRMED", "declined": "CANCELLED", "cancelled": "CANCELLED"}
KIND = {"video_call": "Video call", "phone_call": "Phone call", "in_person": "In person"}
ROLE = {"lead": "CHAIR", "panelist": "REQ-PARTICIPANT", "shadow": "OPT-PARTICIPANT"}
PARTSTAT = {"needs_action": "NEEDS-ACTION", "accepted": "ACCEPTED", "tentative": "TENTATIVE",
            "declined": "DECLINED"}


def uid(interview_id: int) -> str:
    """Stable per interview, so calendar apps update the event rather than add another."""
    return f"interview-{interview_id}@interviews"


def vevent(row: Interview) -> VEvent:
    driver, interviewer = row.interviewee.driver, row.interviewer
    entry = VEvent()
    entry.add("uid", uid(row.id))
    entry.add("sequence", row.version)
    entry.add("dtstamp", row.updated_at)
    entry.add("created", row.created_at)
    entry.add("last-modified", row.updated_at)
    entry.add("dtstart", row.start_at)
    entry.add("dtend", row.end_at)
    entry.add("summary", f"Interview: {driver.title} with {interviewer.title}")
    entry.add("description", f"{KIND[row.kind]} interview {row.id} ({row.status}).")
    entry.add("status", STATUS[row.status])
    for member in row.members:
        entry.add("attendee", attendee(member), encode=False)
    if row.location:
        entry.add("location", row.location)
        if row.kind == "video_call":
            entry.add("url", row.location)
    return entry


def attendee(member) -> vCalAddress:
    """A member as an ATTENDEE: no e-mail is kept here, so the address is a URN of their id;
    CN is their name, ROLE and PARTSTAT their role and answer."""
    address = vCalAddress(f"urn:interviews:interviewer:{member.interviewer.id}")
    address.params["cn"] = member.interviewer.title
    address.params["cutype"] = "INDIVIDUAL"
    address.params["role"] = ROLE[member.role]
    address.params["partstat"] = PARTSTAT[member.response]
    return address


def calendar(rows: list[Interview], name: str | None = None) -> bytes:
    """A VCALENDAR with one VEVENT per interview."""
    cal = Calendar()
    cal.add("prodid", "-//Interviews API//interviews//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    for row in rows:
        cal.add_component(vevent(row))
    return cal.to_ical()
