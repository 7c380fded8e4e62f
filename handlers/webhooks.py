"""Webhook operations: subscriptions, secret rotation, ping, the delivery log and retries."""
from __future__ import annotations

import asyncio

from starlette.responses import Response

from db import outbox, webhooks
from db.fields import iso_utc as instant
from db.webhooks import Delivery, Webhook
from handlers import ssrf
from handlers.present import JSON

allow_private = False  # set from the settings by `configure`
resolver: ssrf.Resolver = ssrf.system_resolver


def configure(settings) -> None:
    global allow_private
    allow_private = settings.webhook_allow_private


def check_url(url: str) -> None:
    """400 for a URL a webhook may not call (see handlers.ssrf); resolves it in production."""
    if allow_private:
        ssrf.parse(url, allow_private=True)
    else:
        asyncio.run(ssrf.check_url(url, allow_private=False, resolver=resolver))


def webhook(row: Webhook, with_secret: bool = False) -> dict:
    shown = {"id": row.id, "url": row.url, "events": row.event_list, "description": row.description,
             "enabled": row.enabled, "created_at": instant(row.created_at)}
    return shown | {"secret": row.secret} if with_secret else shown


def delivery(row: Delivery) -> dict:
    return {"id": row.id, "event_id": row.event_id, "type": row.type, "status": row.status,
            "attempts": row.attempts, "last_status_code": row.last_status_code,
            "last_error": row.last_error, "next_attempt_at": instant(row.next_attempt_at),
            "delivered_at": instant(row.delivered_at), "created_at": instant(row.created_at)}


def create_webhook(body: dict, token_info: dict):
    fields = body["webhook"]
    check_url(fields["url"])
    row = webhooks.create_webhook(token_info["caller"], fields["url"], fields.get("events") or [],
                                  fields.get("description"))
    return ({"webhook": webhook(row, with_secret=True)}, 201,
            {"Content-Type": JSON, "Location": f"/api/v1/webhooks/{row.id}"})


# Their answers hold the secret: an Idempotency-Key replay would keep it in clear (and an old
# one after a rotation), and create's DNS check would run inside the replay's write lock.
create_webhook.keeps_no_answer = True


def list_webhooks(token_info: dict):
    rows = webhooks.webhooks_of(token_info["caller"])
    return {"webhooks": [webhook(r) for r in rows]}, 200, {"Content-Type": JSON}


def show_webhook(id: int, token_info: dict):
    return {"webhook": webhook(webhooks.own_webhook(token_info["caller"], id))}, 200, {"Content-Type": JSON}


def update_webhook(id: int, body: dict, token_info: dict):
    fields = body["webhook"]
    if "url" in fields:
        check_url(fields["url"])
    row = webhooks.update_webhook(token_info["caller"], id, fields)
    return {"webhook": webhook(row)}, 200, {"Content-Type": JSON}


def delete_webhook(id: int, token_info: dict):
    webhooks.delete_webhook(token_info["caller"], id)
    return Response(status_code=204)


def rotate_webhook_secret(id: int, token_info: dict):
    row = webhooks.rotate_secret(token_info["caller"], id)
    return {"webhook": webhook(row, with_secret=True)}, 200, {"Content-Type": JSON}


rotate_webhook_secret.keeps_no_answer = True


def ping_webhook(id: int, token_info: dict):
    row = outbox.ping(token_info["caller"], id)
    return {"delivery": delivery(row)}, 202, {"Content-Type": JSON}


def list_webhook_deliveries(id: int, token_info: dict):
    rows = webhooks.deliveries_of(token_info["caller"], id)
    return {"deliveries": [delivery(r) for r in rows]}, 200, {"Content-Type": JSON}


def retry_webhook_delivery(id: int, delivery_id: int, token_info: dict):
    row = webhooks.retry_delivery(token_info["caller"], id, delivery_id)
    outbox.mark_enqueued()
    return {"delivery": delivery(row)}, 202, {"Content-Type": JSON}
