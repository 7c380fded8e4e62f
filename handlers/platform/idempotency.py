"""`Idempotency-Key` on POSTs: the effect and its stored answer commit together."""
from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable

from connexion import request

from db import idempotency
from db.connection import write_transaction


def fingerprint(method: str, path: str, body: object) -> str:
    """What makes two requests "the same" for a key: method, path and JSON body."""
    canonical = json.dumps([method, path, body], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotent(handler: Callable) -> Callable:
    """Answer a retried POST with the first answer instead of doing it again.

    A handler marked `keeps_no_answer` (its answer holds a secret) is left as it is.
    """
    if getattr(handler, "keeps_no_answer", False):
        return handler

    @functools.wraps(handler)
    def run(*args, **kwargs):
        key = request.headers.get("idempotency-key")
        if key is None or request.method != "POST":
            return handler(*args, **kwargs)
        user_id = kwargs["token_info"]["caller"].id
        replay = idempotency.claim(
            user_id, key, fingerprint(request.method, request.url.path, kwargs.get("body")))
        if replay is not None:
            return replay.body, replay.status, {**replay.headers, "Idempotent-Replayed": "true"}
        try:
            with write_transaction():  # the handler's own transaction nests inside this one
                body, status, headers = handler(*args, **kwargs)
                idempotency.complete(user_id, key, status, body, headers)
        except BaseException:
            with write_transaction():
                idempotency.release(user_id, key)
            raise
        return body, status, headers

    return run
