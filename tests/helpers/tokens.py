"""Token claims as devise-jwt writes them, to sign with any change."""
from __future__ import annotations

import time
import uuid


def claims_for(user_id: int, **changes) -> dict:
    now = int(time.time())
    claims = {"sub": str(user_id), "scp": "user", "aud": None, "iat": now, "exp": now + 600,
              "jti": str(uuid.uuid4())}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not DROP}


DROP = object()
