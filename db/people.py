"""Loading the copy of people from the wider platform: idempotent upserts, all or nothing."""
from __future__ import annotations

from jsonschema import Draft202012Validator

from db import write_transaction
from db.fields import utcnow
from db.models import ROLES, Interviewee, User

NULLABLE_TEXT = {"type": ["string", "null"], "maxLength": 50}
ID = {"type": "integer", "minimum": 1, "maximum": 9007199254740991}
PEOPLE_FILE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "users": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "title", "role"],
            "properties": {
                "id": ID,
                "title": {"type": "string", "minLength": 1, "maxLength": 200},
                "role": {"enum": list(ROLES)},
                "phone_number": NULLABLE_TEXT,
                "contact_phone_number": NULLABLE_TEXT,
                "image": {"type": ["string", "null"], "maxLength": 2048},
            },
        }},
        "interviewees": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "driver_id", "kind", "currency"],
            "properties": {
                "id": ID,
                "driver_id": ID,
                "kind": {"type": "string", "minLength": 1, "maxLength": 50},
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            },
        }},
    },
}
USER_FIELDS = ("title", "role", "phone_number", "contact_phone_number", "image")
INTERVIEWEE_FIELDS = ("driver_id", "kind", "currency")


class PeopleFileError(ValueError):
    """A people file that is refused as a whole; the message names the bad record."""


def check_people_file(data: object) -> None:
    error = next(iter(sorted(Draft202012Validator(PEOPLE_FILE).iter_errors(data),
                             key=lambda e: list(map(str, e.absolute_path)))), None)
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise PeopleFileError(f"{where.lstrip('.') or 'file'}: {error.message}")


def upsert(model, record: dict, fields: tuple[str, ...]) -> bool:
    """Insert or update one row; True if anything changed (re-runs change nothing)."""
    values = {name: record.get(name) for name in fields}
    existing = model.get_or_none(model.id == record["id"])
    if existing is not None and all(getattr(existing, n) == v for n, v in values.items()):
        return False
    values["updated_at"] = utcnow()
    if existing is None:
        model.insert(id=record["id"], **values).execute()
    else:
        model.update(**values).where(model.id == record["id"]).execute()
    return True


def import_people(data: object) -> dict[str, int]:
    """Upsert users then interviewees from a people file; nothing is written if any is bad."""
    check_people_file(data)
    users, interviewees = data.get("users", []), data.get("interviewees", [])
    with write_transaction():
        changed_users = sum(upsert(User, u, USER_FIELDS) for u in users)
        for index, record in enumerate(interviewees):
            driver = User.get_or_none(User.id == record["driver_id"])
            if driver is None or driver.role != "driver":
                raise PeopleFileError(
                    f"interviewees[{index}]: driver_id {record['driver_id']} is not a user with role driver")
        changed = sum(upsert(Interviewee, i, INTERVIEWEE_FIELDS) for i in interviewees)
    return {"users": changed_users, "interviewees": changed}
