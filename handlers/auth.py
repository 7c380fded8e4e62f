"""Bearer JWT: verifying what clients send and minting tokens for operators."""
from __future__ import annotations

import time
import uuid

import anyio.to_thread
import jwt
from connexion.exceptions import OAuthProblem

from db.models import RevokedToken, User, database
from handlers.settings import Settings

REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti"]
_settings: Settings | None = None


def configure(settings: Settings) -> None:
    """Use `settings` (secret, audience, issuer) for every token from now on."""
    global _settings
    _settings = settings


def decode(token: str, settings: Settings) -> dict:
    """The claims of a valid token; raises jwt.InvalidTokenError otherwise."""
    return jwt.decode(
        token,
        settings.jwt_secret,
        algorithms=["HS256"],  # pinned: never taken from the token's header
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        options={"require": REQUIRED_CLAIMS},
    )


def caller_for(claims: dict) -> User | None:
    """The user a verified token speaks for, unless the token was revoked."""
    with database.connection_context():
        if RevokedToken.select().where(RevokedToken.jti == str(claims["jti"])).exists():
            return None
        return User.get_or_none(User.id == int(claims["sub"]))


async def verify_token(token: str) -> dict:
    """Connexion's bearer check: runs on the event loop, so the lookup goes to a thread."""
    assert _settings is not None, "handlers.auth.configure() was not called"
    try:
        claims = decode(token, _settings)
    except jwt.InvalidTokenError as error:
        raise OAuthProblem(detail=f"invalid token: {error}") from None
    if not str(claims["sub"]).isdigit() or len(claims["sub"]) > 18:
        raise OAuthProblem(detail="invalid token: sub is not a user id")
    caller = await anyio.to_thread.run_sync(caller_for, claims)
    if caller is None:
        raise OAuthProblem(detail="token revoked or its user is unknown")
    return {"sub": claims["sub"], "caller": caller, "claims": claims}


def issue_token(settings: Settings, user_id: int, ttl_seconds: int | None = None) -> str:
    """A devise-jwt shaped HS256 token for `user_id`."""
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "scp": "user",
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + (ttl_seconds or settings.token_ttl_seconds),
        "jti": str(uuid.uuid4()),
    }
    if settings.jwt_issuer:
        claims["iss"] = settings.jwt_issuer
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def revoke(jti: str) -> None:
    """Refuse the token with this `jti` from now on (idempotent)."""
    with database.connection_context():
        RevokedToken.insert(jti=jti).on_conflict_ignore().execute()
