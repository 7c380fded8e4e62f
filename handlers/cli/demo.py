"""`interviews demo`: a database ready to try, demo tokens, and what to do next, on one screen."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta
from pathlib import Path

from db.connection import migrate
from db.fields import utcnow
from db.models import User
from db.people import import_people
from db.scheduling_requests import OPEN, SchedulingRequest, create_request
from handlers.platform.auth import issue_token
from handlers.platform.settings import Settings

DEMO_PEOPLE = Path(__file__).resolve().parents[2] / "db" / "demo_people.json"
# (shell variable, user id, who): the demo people of db/demo_people.json.
DEMO_USERS = (
    ("COORDINATOR", 1015, "Casey, coordinator: may do everything"),
    ("INTERVIEWER", 1014, "Felipe, interviewer (1016 Ines is another)"),
    ("DRIVER", 1012, "Raleigh, driver of interviewee 289 (1013 Dana drives 290)"),
)
DOCUMENTED_BODY = (
    '{"interview": {"interviewee_id": 289, "interviewer_id": 1014, "kind": "video_call", '
    '"location": "https://zoom.com", "start_at": "2025-11-20T08:13:05Z", '
    '"end_at": "2025-11-20T08:43:05Z"}}'
)


DEMO_CANDIDATE = 289  # Raleigh's interviewee, offered a time on the booking page


def screen(base_url: str, tokens: dict[str, str], applied: list[str],
           imported: dict[str, int], request_id: int) -> str:
    """The text `make run` shows before serving (pure: no I/O)."""
    migrated = f"migrated ({', '.join(applied)})" if applied else "schema up to date"
    exports = "\n".join(f"  export {var}={tokens[var]}\n    # {who}"
                        for var, _id, who in DEMO_USERS)
    users = imported["users"]
    return f"""
Interviews API demo: database {migrated}; demo people imported ({users} new or changed users).

1. Paste these into another shell (demo tokens, valid 30 days):
{exports}

2. Book the documented interview (the same request again answers 409 overlap):
  curl -i -X POST {base_url}/api/v1/interviews/ -H "Authorization: Bearer $COORDINATOR" \\
    -H 'Content-Type: application/json' -d '{DOCUMENTED_BODY}'

3. The candidate's booking page (Raleigh picks a time offered for interviewee 289):
  {base_url}/booking/#request={request_id}&token={tokens["DRIVER"]}

4. Explore: Swagger UI {base_url}/api/v1/ui/ ("Authorize": paste a token);
   the spec {base_url}/api/v1/openapi.json; more requests in README.md ("Try it").
   A token for anyone: .venv/bin/interviews token issue USER_ID [USER_ID ...]

Serving on {base_url} (Ctrl+C stops it):
"""


def prepare(settings: Settings, base_url: str) -> str:
    """Migrate, import the demo people, mint their tokens; return the screen."""
    applied = migrate()
    imported = import_people(json.loads(DEMO_PEOPLE.read_text()))
    tokens = {var: issue_token(settings, user_id) for var, user_id, _who in DEMO_USERS}
    return screen(base_url, tokens, applied, imported, demo_request().id)


def demo_request() -> SchedulingRequest:
    """An open offer to the demo candidate: tomorrow 09:00-17:00 UTC with either demo
    interviewer, 45 minutes, open for a week (the one made before, while it is open and ahead)."""
    now = utcnow()
    tomorrow = datetime.combine(now.date() + timedelta(days=1), time(9), tzinfo=now.tzinfo)
    found = (SchedulingRequest.select()
             .where(SchedulingRequest.interviewee == DEMO_CANDIDATE,
                    SchedulingRequest.status == OPEN, SchedulingRequest.expires_at > now,
                    SchedulingRequest.window_from >= tomorrow)
             .order_by(SchedulingRequest.id.desc()).first())
    return found or create_request(User.get_by_id(1015), {
        "interviewee_id": DEMO_CANDIDATE, "from": tomorrow, "to": tomorrow + timedelta(hours=8),
        "rounds": [{"duration_minutes": 45, "interviewer_ids": [1014, 1016]}],
        "step_minutes": 30, "kind": "video_call", "location": "https://meet.example.com/demo",
        "expires_at": now + timedelta(days=7)})
