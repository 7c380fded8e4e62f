"""Liveness and readiness for load balancers and orchestrators; no auth."""
from __future__ import annotations

import logging

from peewee import PeeweeException

from db.errors import Unavailable
from db.models import database
from handlers.wire.present import JSON

log = logging.getLogger("interviews")


def healthz():
    return {"status": "ok"}, 200, {"Content-Type": JSON}


def readyz():
    try:
        with database.connection_context():
            database.execute_sql("SELECT 1").fetchone()
    except (PeeweeException, OSError, ValueError) as error:  # driver, network or pool: not ready
        # The caller is anonymous: what failed, and how, goes to the log only.
        log.warning("readiness: the database does not answer: %s: %s",
                    type(error).__name__, error)
        raise Unavailable("the database is unavailable") from None
    return {"status": "ok"}, 200, {"Content-Type": JSON}
