"""Liveness and readiness for load balancers and orchestrators; no auth."""
from __future__ import annotations

from peewee import PeeweeException

from db.errors import Unavailable
from db.models import database
from handlers.wire.present import JSON


def healthz():
    return {"status": "ok"}, 200, {"Content-Type": JSON}


def readyz():
    try:
        with database.connection_context():
            database.execute_sql("SELECT 1").fetchone()
    except (PeeweeException, OSError, ValueError) as error:  # driver, network or pool: not ready
        raise Unavailable(f"the database does not answer: {type(error).__name__}") from None
    return {"status": "ok"}, 200, {"Content-Type": JSON}
