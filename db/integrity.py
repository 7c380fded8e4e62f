"""What a database error means: the no-double-booking constraint refused a write, or a
transient failure (deadlock, lock not had in time) that a retry may not meet."""
from __future__ import annotations

from peewee import IntegrityError, OperationalError

OVERLAP_CONSTRAINTS = ("interview_interviewer_no_overlap", "interview_interviewee_no_overlap",
                       "interview_member_no_overlap")


TRANSIENT_SQLSTATES = ("40P01", "40001")  # deadlock detected, serialization failure


def is_transient(error: OperationalError) -> bool:
    """True for a failure that an identical retry may not meet: a deadlock between two
    bookings' constraint checks (PostgreSQL), or a write lock not had in time (SQLite)."""
    original = getattr(error, "orig", None)
    return (getattr(original, "sqlstate", None) in TRANSIENT_SQLSTATES
            or "database is locked" in str(error))


def is_overlap_violation(error: IntegrityError) -> bool:
    """True when the no-double-booking constraint (trigger or EXCLUDE) refused a write."""
    text = str(error)
    return any(name in text for name in OVERLAP_CONSTRAINTS)
