"""The copy of people from the wider platform: one way to upsert them (the import command and
the coordinators' PUTs) and the rules that guard a change of role. (Finding whom to book:
db/directory.py.)"""
from __future__ import annotations

from collections.abc import Callable

from jsonschema import Draft202012Validator
from peewee import IntegrityError

from db.connection import key_shared, lockable, write_transaction
from db.errors import Conflict, DomainError, Forbidden, Invalid
from db.fields import utcnow
from db.models import ROLES, Interviewee, InterviewMember, User, check_storable

# The bounds of a person's fields; openapi.yaml's UserUpsert and IntervieweeUpsert say the
# same (tests/test_directory.py checks that they agree).
NULLABLE_PHONE = {"type": ["string", "null"], "maxLength": 50}
ID = {"type": "integer", "minimum": 1, "maximum": 9007199254740991}
USER_PROPERTIES = {
    "title": {"type": "string", "minLength": 1, "maxLength": 200},
    "role": {"enum": list(ROLES)},
    "phone_number": NULLABLE_PHONE,
    "contact_phone_number": NULLABLE_PHONE,
    "image": {"type": ["string", "null"], "maxLength": 2048},
}
INTERVIEWEE_PROPERTIES = {
    "driver_id": ID,
    "kind": {"type": "string", "minLength": 1, "maxLength": 50},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
}


def file_records(properties: dict, required: list[str]) -> dict:
    return {"type": "array", "items": {
        "type": "object", "additionalProperties": False, "required": ["id", *required],
        "properties": {"id": ID, **properties},
    }}


PEOPLE_FILE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "users": file_records(USER_PROPERTIES, ["title", "role"]),
        "interviewees": file_records(INTERVIEWEE_PROPERTIES, ["driver_id", "kind", "currency"]),
    },
}
USER_FIELDS = tuple(USER_PROPERTIES)
INTERVIEWEE_FIELDS = tuple(INTERVIEWEE_PROPERTIES)
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


class PeopleFileError(ValueError):
    """A people file that is refused as a whole; the message names the bad record."""


def check_people_file(data: object) -> None:
    error = next(iter(sorted(Draft202012Validator(PEOPLE_FILE).iter_errors(data),
                             key=lambda e: list(map(str, e.absolute_path)))), None)
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise PeopleFileError(f"{where.lstrip('.') or 'file'}: {error.message}")


def upsert(model, existing, record_id: int, record: dict, fields: tuple[str, ...]) -> str:
    """Insert or update one row: CREATED, UPDATED or UNCHANGED (re-runs change nothing)."""
    values = {name: record.get(name) for name in fields}
    if existing is not None and all(getattr(existing, n) == v for n, v in values.items()):
        return UNCHANGED
    values["updated_at"] = utcnow()
    if existing is None:
        model.insert(id=record_id, **values).execute()
        return CREATED
    model.update(**values).where(model.id == record_id).execute()
    return UPDATED


def role_in_use(user: User) -> str | None:
    """Why `user`'s role may not change now, or None when it may."""
    if user.role == "interviewer" and InterviewMember.select(InterviewMember.id).where(
            (InterviewMember.interviewer == user.id)
            & (InterviewMember.active == True)).exists():
        return f"user {user.id} is an interviewer (lead or panel) of active interviews"
    if user.role == "driver" and Interviewee.select(Interviewee.id).where(
            Interviewee.driver == user.id).exists():
        return f"user {user.id} is the driver of interviewees"
    return None


def refuse_unstorable(record: dict, fields: tuple[str, ...]) -> None:
    for name in fields:
        check_storable(name, record.get(name))


def save_user(user_id: int, record: dict) -> str:
    """Upsert a user (inside the caller's write transaction), guarding a change of role.

    The row is locked (FOR UPDATE on PostgreSQL) before the check, so an interviewee being
    given this driver waits for the change, and the change waits for it.
    """
    refuse_unstorable(record, USER_FIELDS)
    existing = lockable(User.select().where(User.id == user_id), User).get_or_none()
    if existing is not None and existing.role != record["role"]:
        reason = role_in_use(existing)
        if reason is not None:
            raise Conflict(f"cannot change the role of user {user_id} from {existing.role} to "
                           f"{record['role']}: {reason}", code="role_in_use")
    return upsert(User, existing, user_id, record, USER_FIELDS)


def save_interviewee(interviewee_id: int, record: dict) -> str:
    """Upsert an interviewee (inside the caller's write transaction); its driver must be one."""
    refuse_unstorable(record, INTERVIEWEE_FIELDS)
    driver = key_shared(User.select().where(User.id == record["driver_id"])).get_or_none()
    if driver is None or driver.role != "driver":
        raise Invalid("driver_id", f"{record['driver_id']} is not a user with role driver")
    existing = Interviewee.get_or_none(Interviewee.id == interviewee_id)
    return upsert(Interviewee, existing, interviewee_id, record, INTERVIEWEE_FIELDS)


def require_coordinator(caller: User, what: str) -> None:
    if caller.role != "coordinator":
        raise Forbidden(f"only coordinators may {what}")


def saved(save: Callable[[int, dict], str], record_id: int, record: dict) -> str:
    """`save` in its own write transaction. Two PUTs creating the same id at once (PostgreSQL
    has no lock on a row not yet there): the loser's insert fails, and its retry updates."""
    for attempt in range(2):
        try:
            with write_transaction():
                return save(record_id, record)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def put_user(caller: User, user_id: int, record: dict) -> tuple[User, bool]:
    """A coordinator's PUT of a user: the row as saved, and whether it was created."""
    require_coordinator(caller, "create or update users")
    outcome = saved(save_user, user_id, record)
    return User.get_by_id(user_id), outcome == CREATED


def put_interviewee(caller: User, interviewee_id: int, record: dict) -> tuple[Interviewee, bool]:
    """A coordinator's PUT of an interviewee: the row as saved (with its driver), created?"""
    require_coordinator(caller, "create or update interviewees")
    outcome = saved(save_interviewee, interviewee_id, record)
    shown = Interviewee.with_driver().where(Interviewee.id == interviewee_id).get()
    return shown, outcome == CREATED


def import_people(data: object) -> dict[str, int]:
    """Upsert users then interviewees from a people file; nothing is written if any is bad."""
    check_people_file(data)
    users, interviewees = data.get("users", []), data.get("interviewees", [])
    changed = {"users": 0, "interviewees": 0}
    with write_transaction():
        for kind, records, save in (("users", users, save_user),
                                    ("interviewees", interviewees, save_interviewee)):
            for index, record in enumerate(records):
                try:
                    changed[kind] += save(record["id"], record) != UNCHANGED
                except DomainError as error:
                    raise PeopleFileError(f"{kind}[{index}]: {error.detail}") from None
    return changed
