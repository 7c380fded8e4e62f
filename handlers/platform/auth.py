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

from db.models import RevokedToken, User, database
from db.prepared import ID_MARKER, Prepared
from handlers.platform.settings import Settings

REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti"]
USER_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits only: "²" and "١٠١٥" are not ids
_settings: Settings | None = None
REMEMBERED_MAX = 4096  # tokens remembered, verified or refused, per process
# A refusal is kept as its error's class and arguments (raised anew each time, no traceback).
Refusal = tuple[type[jwt.InvalidTokenError], tuple]
_remembered: OrderedDict[tuple, dict | Refusal] = OrderedDict()
_remembered_lock = threading.Lock()


def configure(settings: Settings) -> None:
    """Use `settings` (secret, audience, issuer) for every token from now on."""
    global _settings
    _settings = settings


def verified(token: str, settings: Settings) -> dict | Refusal:
    """What PyJWT makes of `token`, and whether its `sub` is one of our user ids."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=["HS256"],  # pinned: never taken from the token's header
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.InvalidTokenError as error:
        return type(error), error.args
    if not isinstance(claims["sub"], str) or not USER_ID.fullmatch(claims["sub"]):
        return jwt.exceptions.InvalidSubjectError, ("sub is not a user id",)
    return claims


def remembered(token: str, settings: Settings) -> dict | Refusal:
    """The claims of a valid token naming a user id, or why it is refused.

    The one cache of verified tokens, asked by the bearer check and the rate limiter: a
    bounded LRU keyed by the exact token and the secret, audience and issuer it was checked
    against, so a client's repeated token costs one HMAC and base64/JSON parse, not one per
    request, and so does a flood of one bad token: refusals are remembered too, except "not
    yet valid" (time cures that, and only our secret signs one). On a remembered success
    `exp` is checked against the clock (as PyJWT does, no leeway; an expired one is forgotten
    and refused with PyJWT's message). The other time claims (`iat`, `nbf`) only become more
    valid with time. Revocation and the user are checked per request in `load_caller`, never
    here.
    """
    key = (token, settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer)
    with _remembered_lock:
        answer = _remembered.get(key)
        if answer is not None:
            _remembered.move_to_end(key)
    if answer is None:
        answer = verified(token, settings)
        if isinstance(answer, dict) or not issubclass(answer[0], jwt.ImmatureSignatureError):
            with _remembered_lock:
                _remembered[key] = answer
                if len(_remembered) > REMEMBERED_MAX:
                    _remembered.popitem(last=False)
    elif isinstance(answer, dict) and int(answer["exp"]) <= time.time():
        with _remembered_lock:
            _remembered.pop(key, None)
        return jwt.ExpiredSignatureError, ("Signature has expired",)  # PyJWT's words
    return answer


def decode(token: str, settings: Settings) -> dict:
    """The claims of a valid token naming a user id; raises jwt.InvalidTokenError otherwise
    (see `remembered`)."""
    answer = remembered(token, settings)
    if isinstance(answer, tuple):
        error, args = answer
        raise error(*args)
    return dict(answer)


def subject(token: str, settings: Settings) -> str | None:
    """The user id a valid token names; None for any other (the rate limiter's question)."""
    answer = remembered(token, settings)
    return None if isinstance(answer, tuple) else answer["sub"]


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
    return {"sub": claims["sub"], "claims": claims}


CALLER = Prepared(
    lambda user_id, jti: User.select().where(
        (User.id == user_id)
        & ~fn.EXISTS(RevokedToken.select(RevokedToken.jti).where(RevokedToken.jti == jti))),
    ID_MARKER, "\x00jti-marker", links=(),
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
