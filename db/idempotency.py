"""Idempotency keys: a retried POST gets the first answer instead of a second effect."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from peewee import BigIntegerField, CharField, CompositeKey, IntegerField, IntegrityError, TextField

from db.connection import write_transaction
from db.errors import Conflict, Unworkable
from db.fields import UTCDateTimeField, utcnow
from db.models import BaseModel

KEEP = timedelta(hours=24)
# A claim older than this with no answer belongs to a process that died mid-request.
ABANDONED = timedelta(minutes=5)


class KeyReused(Unworkable):
    code = "idempotency_key_reused"


class IdempotencyKey(BaseModel):
    user_id = BigIntegerField()
    key = CharField(max_length=255)
    fingerprint = CharField(max_length=64)
    status = IntegerField(null=True)  # None while the first request is still running
    body = TextField(null=True)
    headers = TextField(null=True)
    created_at = UTCDateTimeField(default=utcnow)

    class Meta:
        primary_key = CompositeKey("user_id", "key")


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict
    headers: dict[str, str]


def in_progress() -> Conflict:
    return Conflict("a request with this Idempotency-Key is still being processed; retry later",
                    code="idempotency_in_progress")


def claim(user_id: int, key: str, fingerprint: str) -> Replay | None:
    """Reserve `key` for a first attempt (None), or answer a retry with the stored response."""
    now = utcnow()
    try:
        with write_transaction():
            IdempotencyKey.delete().where(IdempotencyKey.created_at < now - KEEP).execute()
            row = IdempotencyKey.get_or_none(user_id=user_id, key=key)
            if row is None:
                IdempotencyKey.create(user_id=user_id, key=key, fingerprint=fingerprint,
                                      created_at=now)
                return None
            if row.fingerprint != fingerprint:
                raise KeyReused("this Idempotency-Key was used with another request; use a new key")
            if row.status is not None:
                return Replay(row.status, json.loads(row.body), json.loads(row.headers))
            if row.created_at > now - ABANDONED:
                raise in_progress()
            row.created_at = now
            row.save()
            return None
    except IntegrityError:  # another request claimed the same key a moment before us
        raise in_progress() from None


def complete(user_id: int, key: str, status: int, body: dict, headers: dict[str, str]) -> None:
    """Store the answer; call it inside the transaction of the effect it answers for."""
    (IdempotencyKey
     .update(status=status, body=json.dumps(body), headers=json.dumps(headers))
     .where((IdempotencyKey.user_id == user_id) & (IdempotencyKey.key == key))
     .execute())


def release(user_id: int, key: str) -> None:
    """Forget a claim whose request failed without effect, so a retry runs again."""
    IdempotencyKey.delete().where(
        (IdempotencyKey.user_id == user_id) & (IdempotencyKey.key == key)).execute()
