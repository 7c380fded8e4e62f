"""Settings: read once from the environment, typed, and refused when unsafe."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from db.outbox import DEFAULT_SCHEDULE

# Only ever used when INTERVIEWS_ENV=development and no secret is given.
DEVELOPMENT_SECRET = "development-only-secret-not-for-production-use"
MIN_SECRET_BYTES = 32


class SettingsError(ValueError):
    """A configuration the service refuses to start with."""


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///var/interviews.db"
    jwt_secret: str = DEVELOPMENT_SECRET
    env: str = "development"
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    token_ttl_seconds: int = 30 * 24 * 3600
    threads: int = 40
    webhook_delivery: bool = True  # a delivery worker inside each `interviews serve` process
    webhook_allow_private: bool = False
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    webhook_concurrency: int = 8

    def __post_init__(self) -> None:
        if self.env not in ("development", "production"):
            raise SettingsError("INTERVIEWS_ENV must be 'development' or 'production'")
        if self.env != "development" and self.jwt_secret == DEVELOPMENT_SECRET:
            raise SettingsError("INTERVIEWS_JWT_SECRET is required outside development")
        if len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(f"INTERVIEWS_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if not 1 <= self.threads <= 1000:
            raise SettingsError("INTERVIEWS_THREADS must be from 1 to 1000")
        if not 1 <= len(self.webhook_retry_schedule) <= 20 or not all(
                0 <= delay <= 7 * 86400 for delay in self.webhook_retry_schedule):
            raise SettingsError("INTERVIEWS_WEBHOOK_RETRY_SCHEDULE must be 1 to 20 delays in "
                                "seconds, each from 0 to 604800, separated by commas")
        if not 1 <= self.webhook_concurrency <= 256:
            raise SettingsError("INTERVIEWS_WEBHOOK_CONCURRENCY must be from 1 to 256")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Settings from INTERVIEWS_* variables; defaults where one is not set."""
        def get(name: str) -> str | None:
            return environ.get(f"INTERVIEWS_{name}") or None

        values: dict[str, object] = {
            "database_url": get("DATABASE_URL"),
            "jwt_secret": get("JWT_SECRET"),
            "env": get("ENV"),
            "jwt_audience": get("JWT_AUDIENCE"),
            "jwt_issuer": get("JWT_ISSUER"),
        }
        for name, key in (("token_ttl_seconds", "TOKEN_TTL_SECONDS"), ("threads", "THREADS")):
            raw = get(key)
            if raw is not None:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise SettingsError(f"INTERVIEWS_{key} must be a whole number") from None
        values |= webhook_settings(get)
        return cls(**{k: v for k, v in values.items() if v is not None})


def flag(raw: str | None, name: str) -> bool | None:
    if raw is None:
        return None
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"INTERVIEWS_{name} must be 1 or 0")


def webhook_settings(get) -> dict[str, object]:
    """INTERVIEWS_WEBHOOK_*: delivery in serve, private addresses, retry schedule, concurrency."""
    values: dict[str, object] = {
        "webhook_delivery": flag(get("WEBHOOK_DELIVERY"), "WEBHOOK_DELIVERY"),
        "webhook_allow_private": flag(get("WEBHOOK_ALLOW_PRIVATE"), "WEBHOOK_ALLOW_PRIVATE"),
    }
    try:
        if get("WEBHOOK_RETRY_SCHEDULE") is not None:
            values["webhook_retry_schedule"] = tuple(
                float(part) for part in get("WEBHOOK_RETRY_SCHEDULE").split(","))
        if get("WEBHOOK_CONCURRENCY") is not None:
            values["webhook_concurrency"] = int(get("WEBHOOK_CONCURRENCY"))
    except ValueError:
        raise SettingsError("INTERVIEWS_WEBHOOK_RETRY_SCHEDULE takes seconds separated by commas "
                            "(e.g. 1,2,4); INTERVIEWS_WEBHOOK_CONCURRENCY a whole number") from None
    return values
