"""Bearer JWT: verifying what clients send and minting tokens for operators."""
from __future__ import annotations

import re
import threading
import time
import uuid
from collections import OrderedDict

import jwt
from connexion.exceptions import OAuthProblem
from peewee import fn

from db import ID_MARKER, Prepared
from db.models import RevokedToken, User, database
from handlers.platform.settings import Settings

REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti"]
USER_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only: "²" and "١٠١٥" are not ids
_settings: Settings | None = None
VERIFIED_MAX = 1024  # tokens remembered as verified, per process
_verified: OrderedDict[tuple, dict] = OrderedDict()
_verified_lock = threading.Lock()


def configure(settings: Settings) -> None:
    """Use `settings` (secret, audience, issuer) for every token from now on."""
    global _settings
    _settings = settings


def decode(token: str, settings: Settings) -> dict:
    """The claims of a valid token; raises jwt.InvalidTokenError otherwise.

    Tokens verified before are remembered (a bounded LRU keyed by the exact token and the
    secret, audience and issuer it was checked against), so a client's repeated token costs
    one HMAC and base64/JSON parse, not one per request. Only successes are remembered, and
    `exp` is checked against the clock on every hit (as PyJWT does, no leeway; an expired
    one is forgotten and refused with PyJWT's message). The other time claims (`iat`,
    `nbf`) only become more valid with time. Revocation and the user are checked per
    request in `load_caller`, never here.
    """
    key = (token, settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer)
    with _verified_lock:
        claims = _verified.get(key)
        if claims is not None:
            _verified.move_to_end(key)
    if claims is not None:
        if int(claims["exp"]) > time.time():
            return dict(claims)
        with _verified_lock:
            _verified.pop(key, None)
        raise jwt.ExpiredSignatureError("Signature has expired")  # PyJWT's words
    claims = jwt.decode(
        token,
        settings.jwt_secret,
        algorithms=["HS256"],  # pinned: never taken from the token's header
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        options={"require": REQUIRED_CLAIMS},
    )
    with _verified_lock:
        _verified[key] = claims
        if len(_verified) > VERIFIED_MAX:
            _verified.popitem(last=False)
    return dict(claims)


def verify_token(token: str) -> dict:
    """Connexion's bearer check: signature and claims only, as it runs on the event loop.

    The database half (is the user known, is the token revoked) runs in the handler's
    worker thread, on its connection: see `load_caller`.
    """
    assert _settings is not None, "handlers.platform.auth.configure() was not called"
    try:
        claims = decode(token, _settings)
    except jwt.InvalidTokenError as error:
        raise OAuthProblem(detail=f"invalid token: {error}") from None
    if not isinstance(claims["sub"], str) or not USER_ID.fullmatch(claims["sub"]):
        raise OAuthProblem(detail="invalid token: sub is not a user id")
    return {"sub": claims["sub"], "claims": claims}


CALLER = Prepared(
    lambda user_id, jti: User.select().where(
        (User.id == user_id)
        & ~fn.EXISTS(RevokedToken.select(RevokedToken.jti).where(RevokedToken.jti == jti))),
    ID_MARKER, "\x00jti-marker",
)


def load_caller(token_info: dict) -> User:
    """The user a verified token speaks for, in one query; 401 if unknown or revoked."""
    found = CALLER(int(token_info["sub"]), str(token_info["claims"]["jti"]))
    if not found:
        raise OAuthProblem(detail="token revoked or its user is unknown")
    return found[0]


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
