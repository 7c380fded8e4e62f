"""Webhooks: the subscriptions a user owns and the deliveries made to them."""
from __future__ import annotations

import base64
import json
import secrets
from datetime import datetime, timedelta

from peewee import BigAutoField, BooleanField, CharField, ForeignKeyField, IntegerField, TextField

from db.connection import write_transaction
from db.errors import Conflict, NotFound
from db.fields import UTCDateTimeField, utcnow
from db.models import BaseModel, User

PING = "webhook.ping"
ROTATION_OVERLAP = timedelta(hours=24)
MAX_WEBHOOKS_PER_USER = 50
DELIVERIES_SHOWN = 100


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def live_secrets(secret: str, previous: str | None, previous_until: datetime | None,
                 now: datetime) -> list[str]:
    """The current secret, and the one it replaced while the overlap lasts."""
    if previous and previous_until and now < previous_until:
        return [secret, previous]
    return [secret]


class Webhook(BaseModel):
    id = BigAutoField()
    user = ForeignKeyField(User, column_name="user_id", lazy_load=False)
    url = CharField(max_length=2048)
    events = TextField()  # a JSON list; empty means every interview event
    description = CharField(max_length=500, null=True)
    enabled = BooleanField(default=True)
    secret = CharField(max_length=100)
    previous_secret = CharField(max_length=100, null=True)
    previous_secret_until = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)
    updated_at = UTCDateTimeField(default=utcnow)

    @property
    def event_list(self) -> list[str]:
        return json.loads(self.events)

    def wants(self, event_type: str) -> bool:
        wanted = self.event_list
        return not wanted or event_type in wanted

    def signing_secrets(self, now: datetime) -> list[str]:
        return live_secrets(self.secret, self.previous_secret, self.previous_secret_until, now)


class Delivery(BaseModel):
    id = BigAutoField()
    webhook = ForeignKeyField(Webhook, column_name="webhook_id", on_delete="CASCADE",
                              lazy_load=False)
    event_id = CharField(max_length=64)
    type = CharField(max_length=40)
    payload = TextField()
    status = CharField(max_length=20, default="pending")
    attempts = IntegerField(default=0)
    last_status_code = IntegerField(null=True)
    last_error = CharField(max_length=500, null=True)
    next_attempt_at = UTCDateTimeField(null=True)
    locked_until = UTCDateTimeField(null=True)
    delivered_at = UTCDateTimeField(null=True)
    created_at = UTCDateTimeField(default=utcnow)


def own_webhook(owner: User, webhook_id: int) -> Webhook:
    """The caller's webhook; another's (or none) is 404, never 403."""
    found = Webhook.get_or_none((Webhook.id == webhook_id) & (Webhook.user == owner.id))
    if found is None:
        raise NotFound(f"no webhook {webhook_id}")
    return found


def webhooks_of(owner: User) -> list[Webhook]:
    return list(Webhook.select().where(Webhook.user == owner.id).order_by(Webhook.id))


def create_webhook(owner: User, url: str, events: list[str], description: str | None) -> Webhook:
    with write_transaction():
        if Webhook.select().where(Webhook.user == owner.id).count() >= MAX_WEBHOOKS_PER_USER:
            raise Conflict(f"a user may own at most {MAX_WEBHOOKS_PER_USER} webhooks",
                           code="webhook_limit")
        return Webhook.create(user=owner.id, url=url, events=json.dumps(sorted(set(events))),
                              description=description, enabled=True, secret=new_secret())


def update_webhook(owner: User, webhook_id: int, fields: dict) -> Webhook:
    with write_transaction():
        webhook = own_webhook(owner, webhook_id)
        for name in ("url", "description", "enabled"):
            if name in fields:
                setattr(webhook, name, fields[name])
        if "events" in fields:
            webhook.events = json.dumps(sorted(set(fields["events"])))
        webhook.updated_at = utcnow()
        webhook.save()
        return webhook


def delete_webhook(owner: User, webhook_id: int) -> None:
    with write_transaction():
        own_webhook(owner, webhook_id)
        Delivery.delete().where(Delivery.webhook == webhook_id).execute()
        Webhook.delete().where(Webhook.id == webhook_id).execute()


def rotate_secret(owner: User, webhook_id: int) -> Webhook:
    """A new secret; the old one keeps signing beside it for 24 hours."""
    with write_transaction():
        webhook = own_webhook(owner, webhook_id)
        now = utcnow()
        webhook.previous_secret, webhook.secret = webhook.secret, new_secret()
        webhook.previous_secret_until = now + ROTATION_OVERLAP
        webhook.updated_at = now
        webhook.save()
        return webhook


def deliveries_of(owner: User, webhook_id: int) -> list[Delivery]:
    """The latest deliveries to one of the caller's webhooks, newest first."""
    own_webhook(owner, webhook_id)
    return list(Delivery.select().where(Delivery.webhook == webhook_id)
                .order_by(Delivery.id.desc()).limit(DELIVERIES_SHOWN))


def retry_delivery(owner: User, webhook_id: int, delivery_id: int) -> Delivery:
    """Send a delivery again now, whatever became of it (one more attempt if it had failed)."""
    with write_transaction():
        webhook = own_webhook(owner, webhook_id)
        delivery = Delivery.get_or_none((Delivery.id == delivery_id)
                                        & (Delivery.webhook == webhook.id))
        if delivery is None:
            raise NotFound(f"no delivery {delivery_id} of webhook {webhook_id}")
        if not webhook.enabled:
            raise Conflict("the webhook is disabled; enable it before retrying",
                           code="webhook_disabled")
        delivery.status, delivery.next_attempt_at, delivery.locked_until = "pending", utcnow(), None
        delivery.save()
        return delivery
