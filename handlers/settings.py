"""Settings: read once from the environment, typed, and refused when unsafe."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

# Only ever used when INTERVIEWS_ENV=development and no secret is given.
DEVELOPMENT_SECRET = "development-only-secret-not-for-production-use"
MIN_SECRET_BYTES = 32
MIN_METRICS_TOKEN_BYTES = 16
ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
LOG_LEVELS = ("debug", "info", "warning", "error")


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
    cors_origins: tuple[str, ...] | None = None  # None: any in development, none in production
    metrics_token: str | None = None
    log_level: str = "info"

    def __post_init__(self) -> None:
        if self.env not in ("development", "production"):
            raise SettingsError("INTERVIEWS_ENV must be 'development' or 'production'")
        if self.env != "development" and self.jwt_secret == DEVELOPMENT_SECRET:
            raise SettingsError("INTERVIEWS_JWT_SECRET is required outside development")
        if len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(f"INTERVIEWS_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if not 1 <= self.threads <= 1000:
            raise SettingsError("INTERVIEWS_THREADS must be from 1 to 1000")
        for origin in self.cors_origins or ():
            if not ORIGIN.fullmatch(origin):
                raise SettingsError(f"INTERVIEWS_CORS_ORIGINS: {origin!r} is not an origin "
                                    "(scheme://host[:port], no path, no wildcard)")
        if self.metrics_token is not None and len(self.metrics_token) < MIN_METRICS_TOKEN_BYTES:
            raise SettingsError(
                f"INTERVIEWS_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_BYTES} characters")
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"INTERVIEWS_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")

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
            "metrics_token": get("METRICS_TOKEN"),
            "log_level": (get("LOG_LEVEL") or "info").lower(),
        }
        origins = get("CORS_ORIGINS")
        if origins is not None:
            values["cors_origins"] = tuple(o.strip() for o in origins.split(",") if o.strip())
        for name, key in (("token_ttl_seconds", "TOKEN_TTL_SECONDS"), ("threads", "THREADS")):
            raw = get(key)
            if raw is not None:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise SettingsError(f"INTERVIEWS_{key} must be a whole number") from None
        return cls(**{k: v for k, v in values.items() if v is not None})
