"""Bearer tokens: what is accepted and every way a token is refused."""
from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from handlers.platform.auth import issue_token, revoke
from handlers.platform.settings import Settings, SettingsError
from tests.helpers.people import SECRET
from tests.helpers.tokens import DROP, claims_for


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def get_me(client, authorization: str | None):
    headers = {} if authorization is None else {"Authorization": authorization}
    return client.get("/api/v1/me", headers=headers)


def test_seed_shaped_token_is_accepted(client, people):
    token = jwt.encode(claims_for(people.coordinator.id), SECRET, algorithm="HS256")
    assert get_me(client, f"Bearer {token}").status_code == 200


def test_issued_token_is_accepted(client, people, settings):
    assert get_me(client, f"Bearer {issue_token(settings, people.driver.id)}").status_code == 200


def signed(claims: dict) -> str:
    return "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")


def refused_tokens(user_id: int) -> dict[str, str | None]:
    now = int(time.time())
    good = claims_for(user_id)
    return {
        "no header": None,
        "another scheme": "Basic " + base64.b64encode(b"a:b").decode(),
        "malformed": "Bearer not.a.token",
        "alg none": "Bearer " + b64({"alg": "none", "typ": "JWT"}) + "." + b64(good) + ".",
        "another algorithm": "Bearer " + jwt.encode(good, SECRET * 2, algorithm="HS512"),
        "wrong signature": "Bearer " + jwt.encode(
            good, "another-secret-that-is-long-enough-too", algorithm="HS256"),
        "expired": signed(claims_for(user_id, exp=now - 10)),
        "nbf in the future": signed(claims_for(user_id, nbf=now + 600)),
        "missing exp": signed(claims_for(user_id, exp=DROP)),
        "missing iat": signed(claims_for(user_id, iat=DROP)),
        "missing sub": signed(claims_for(user_id, sub=DROP)),
        "missing jti": signed(claims_for(user_id, jti=DROP)),
        "non-string sub": signed(claims_for(user_id, sub=user_id)),
        "non-numeric sub": signed(claims_for(user_id, sub="abc")),
        "unknown user": signed(claims_for(9007199254740991)),
    }


CASES = list(refused_tokens(1))


@pytest.mark.parametrize("case", CASES)
def test_refused_token_is_401_with_challenge(client, people, case):
    response = get_me(client, refused_tokens(people.coordinator.id)[case])
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthorized"


def test_revoked_token_is_401(client, people, settings):
    claims = claims_for(people.coordinator.id)
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    assert get_me(client, f"Bearer {token}").status_code == 200
    revoke(claims["jti"])
    assert get_me(client, f"Bearer {token}").status_code == 401


def test_audience_and_issuer_are_checked_when_configured(people):
    import jwt as pyjwt

    from handlers.platform.auth import decode

    configured = Settings(jwt_secret=SECRET, jwt_audience="interviews", jwt_issuer="platform")
    token = issue_token(configured, people.driver.id)
    assert decode(token, configured)["aud"] == "interviews"
    with pytest.raises(pyjwt.InvalidTokenError):
        decode(issue_token(Settings(jwt_secret=SECRET), people.driver.id), configured)


@pytest.mark.parametrize("environ", [
    {"INTERVIEWS_ENV": "production"},
    {"INTERVIEWS_ENV": "production", "INTERVIEWS_JWT_SECRET": "short"},
    {"INTERVIEWS_ENV": "staging", "INTERVIEWS_JWT_SECRET": SECRET},
    {"INTERVIEWS_JWT_SECRET": "x" * 31},
])
def test_unsafe_settings_are_refused(environ):
    with pytest.raises(SettingsError):
        Settings.from_env(environ)


def test_development_runs_without_a_secret(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # it keeps a secret of its own under var/
    assert Settings.from_env({}).env == "development"


# --- verified and refused tokens remembered (handlers.platform.auth.remembered) ----------------

@pytest.fixture
def jwt_calls(monkeypatch):
    """How many times PyJWT really verified a token."""
    from handlers.platform import auth

    calls = []
    real = auth.jwt.decode
    monkeypatch.setattr(auth.jwt, "decode", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    auth._remembered.clear()
    return calls


def test_a_verified_token_is_remembered_but_revocation_still_checked(client, people, jwt_calls):
    claims = claims_for(people.coordinator.id)
    token = jwt.encode(claims, SECRET, algorithm="HS256")
    assert get_me(client, f"Bearer {token}").status_code == 200
    assert get_me(client, f"Bearer {token}").status_code == 200
    assert jwt_calls.count(token) == 1  # the second request did not verify it again
    revoke(claims["jti"])
    assert get_me(client, f"Bearer {token}").status_code == 401


def test_a_remembered_token_is_refused_once_expired(client, people, jwt_calls, monkeypatch):
    from handlers.platform import auth

    now = time.time()
    token = jwt.encode(claims_for(people.coordinator.id, exp=int(now) + 60), SECRET,
                       algorithm="HS256")
    assert get_me(client, f"Bearer {token}").status_code == 200
    monkeypatch.setattr(auth.time, "time", lambda: now + 61)  # the clock the hit is checked on
    response = get_me(client, f"Bearer {token}")
    assert response.status_code == 401 and "expired" in response.json()["detail"]
    assert jwt_calls.count(token) == 1
    monkeypatch.setattr(auth.time, "time", lambda: now)
    assert get_me(client, f"Bearer {token}").status_code == 200  # forgotten: verified anew
    assert jwt_calls.count(token) == 2


def test_refusals_are_remembered_and_answered_alike(client, people, jwt_calls):
    """A flood of one bad token costs one HMAC."""
    token = jwt.encode(claims_for(people.coordinator.id), "another-secret-that-is-long-enough-too",
                       algorithm="HS256")
    answers = [get_me(client, f"Bearer {token}") for _ in range(3)]
    assert {a.status_code for a in answers} == {401}
    assert len({a.json()["detail"] for a in answers}) == 1
    assert answers[0].json()["detail"] == "invalid token: Signature verification failed"
    assert jwt_calls.count(token) == 1


@pytest.mark.parametrize("sub", ["abc", 7, "²"])
def test_a_sub_that_is_not_a_user_id_is_refused_and_remembered(people, jwt_calls, sub):
    import jwt as pyjwt

    from handlers.platform import auth

    settings = Settings(jwt_secret=SECRET)
    token = jwt.encode(claims_for(people.driver.id, sub=sub), SECRET, algorithm="HS256")
    for _ in range(2):
        with pytest.raises(pyjwt.exceptions.InvalidSubjectError):
            auth.decode(token, settings)
        assert auth.subject(token, settings) is None
    assert jwt_calls.count(token) == 1


def test_a_token_not_yet_valid_is_not_remembered(client, people, jwt_calls):
    """Time makes it valid; only our secret can sign one, so no flood of them is cheap to make."""
    token = jwt.encode(claims_for(people.coordinator.id, nbf=int(time.time()) + 600), SECRET,
                       algorithm="HS256")
    for _ in range(2):
        assert get_me(client, f"Bearer {token}").status_code == 401
    assert jwt_calls.count(token) == 2


def test_a_remembered_refusal_is_raised_anew(people, jwt_calls):
    import jwt as pyjwt

    from handlers.platform import auth

    settings = Settings(jwt_secret=SECRET)
    token = jwt.encode(claims_for(people.driver.id, jti=DROP), SECRET, algorithm="HS256")
    errors = []
    for _ in range(2):
        with pytest.raises(pyjwt.MissingRequiredClaimError) as caught:
            auth.decode(token, settings)
        errors.append(caught.value)
    assert errors[0] is not errors[1] and str(errors[1]) == 'Token is missing the "jti" claim'
    assert errors[1].claim == "jti"


def test_a_token_remembered_under_one_secret_never_passes_another(people, jwt_calls):
    import jwt as pyjwt

    from handlers.platform.auth import decode

    ours = Settings(jwt_secret=SECRET)
    theirs = Settings(jwt_secret="another-secret-that-is-long-enough-too")
    token = issue_token(theirs, people.driver.id)
    assert decode(token, theirs)["sub"] == str(people.driver.id)
    with pytest.raises(pyjwt.InvalidSignatureError):
        decode(token, ours)
    audience = Settings(jwt_secret=SECRET, jwt_audience="interviews")
    plain = issue_token(ours, people.driver.id)
    assert decode(plain, ours)["aud"] is None
    with pytest.raises(pyjwt.InvalidTokenError):
        decode(plain, audience)


def test_the_remembered_tokens_are_bounded(people, jwt_calls, monkeypatch):
    from handlers.platform import auth

    monkeypatch.setattr(auth, "REMEMBERED_MAX", 3)
    settings = Settings(jwt_secret=SECRET)
    tokens = [issue_token(settings, people.driver.id) for _ in range(5)]
    for token in tokens:
        auth.decode(token, settings)
    assert len(auth._remembered) == 3
    auth.decode(tokens[0], settings)  # the oldest was dropped: verified again
    assert jwt_calls.count(tokens[0]) == 2
