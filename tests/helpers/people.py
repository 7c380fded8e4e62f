"""People made per test, and their tokens."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from db.models import Interviewee, User
from handlers.platform.auth import issue_token
from handlers.platform.settings import Settings

SECRET = "test-secret-that-is-long-enough-for-hs256"


ids = itertools.count(int(datetime.now().timestamp() * 1000) % 10**9 * 1000)


def make_user(role: str, **fields) -> User:
    from db.models import database

    with database.connection_context():
        title = fields.pop("title", f"{role} {uuid.uuid4().hex[:6]}")
        return User.create(id=next(ids), title=title, role=role, **fields)


def make_interviewee(driver: User, **fields) -> Interviewee:
    from db.models import database

    with database.connection_context():
        return Interviewee.create(id=next(ids), driver=driver, kind=fields.get("kind", "interview"),
                                  currency=fields.get("currency", "GBP"))


class People:
    """A coordinator, an interviewer, a driver with an interviewee, and a stranger of each role."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.coordinator = make_user("coordinator")
        self.interviewer = make_user("interviewer", phone_number="456")
        self.other_interviewer = make_user("interviewer")
        self.driver = make_user("driver", phone_number="123")
        self.interviewee = make_interviewee(self.driver)
        self.other_driver = make_user("driver")
        self.other_interviewee = make_interviewee(self.other_driver)

    def auth(self, user: User) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(self.settings, user.id)}"}
