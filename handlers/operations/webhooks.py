"""Webhook operations: subscriptions, secret rotation, ping, the delivery log and retries."""
from __future__ import annotations

from db import outbox, webhooks
from handlers.outbound.ssrf import check_webhook_url
from handlers.wire.present import JSON, delivery, webhook


def create_webhook(body: dict, token_info: dict):
    fields = body["webhook"]
    check_webhook_url(fields["url"])
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
    row = webhooks.own_webhook(token_info["caller"], id)
    return {"webhook": webhook(row)}, 200, {"Content-Type": JSON}


def update_webhook(id: int, body: dict, token_info: dict):
    fields = body["webhook"]
    if "url" in fields:
        check_webhook_url(fields["url"])
    row = webhooks.update_webhook(token_info["caller"], id, fields)
    return {"webhook": webhook(row)}, 200, {"Content-Type": JSON}


def delete_webhook(id: int, token_info: dict):
    webhooks.delete_webhook(token_info["caller"], id)
    return None, 204


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
