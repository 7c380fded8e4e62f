"""Settings: read once from the environment, typed, and refused when unsafe."""
from __future__ import annotations

import functools
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MIN_SECRET_BYTES = 32
# Seconds between webhook attempts (DESIGN: about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h).
DEFAULT_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
MIN_METRICS_TOKEN_BYTES = 16
ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?"
                    r"|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
LOG_LEVELS = ("debug", "info", "warning", "error")
# Development without INTERVIEWS_JWT_SECRET: a random secret made once per install, kept here.
DEVELOPMENT_SECRET_FILE = Path("var") / "jwt-secret"
RATE_LIMIT = re.compile(
    r"[1-9][0-9]{0,8}\s*(/|per)\s*([1-9][0-9]{0,5}\s+)?(second|minute|hour|day)s?")


class SettingsError(ValueError):
    """A configuration the service refuses to start with."""


@dataclass(frozen=True)
class Settings:
    jwt_secret: str
    database_url: str = "sqlite:///var/interviews.db"
    env: str = "development"
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    token_ttl_seconds: int = 30 * 24 * 3600
    threads: int = 40
    cors_origins: tuple[str, ...] | None = None  # None: any in development, none in production
    metrics_token: str | None = None
    log_level: str = "info"
    # Limits (README, "Limits"): what one request may send, and how many a caller may make.
    max_header_bytes: int = 16 * 1024
    header_timeout_seconds: int = 10
    body_timeout_seconds: int = 10
    rate_limit: str = "1200/minute"  # `limits` notation; "off" disables it
    redis_url: str | None = None
    rate_limit_prefix: str = "interviews"
    webhook_delivery: bool = True  # a delivery worker inside each `interviews serve` process
    webhook_allow_private: bool = False
    webhook_retry_schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    webhook_concurrency: int = 8

    def __post_init__(self) -> None:
        if self.env not in ("development", "production"):
            raise SettingsError("INTERVIEWS_ENV must be 'development' or 'production'")
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
        if not 1024 <= self.max_header_bytes <= 1024 * 1024:
            raise SettingsError("INTERVIEWS_MAX_HEADER_BYTES must be from 1024 to 1048576")
        for name in ("header_timeout_seconds", "body_timeout_seconds"):
            if not 1 <= getattr(self, name) <= 3600:
                raise SettingsError(f"INTERVIEWS_{name.upper()} must be from 1 to 3600")
        if self.rate_limit != "off" and not RATE_LIMIT.fullmatch(self.rate_limit):
            raise SettingsError("INTERVIEWS_RATE_LIMIT must be like '1200/minute' or 'off'")
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
            "env": get("ENV") or "development",
            "jwt_audience": get("JWT_AUDIENCE"),
            "jwt_issuer": get("JWT_ISSUER"),
            "metrics_token": get("METRICS_TOKEN"),
            "log_level": (get("LOG_LEVEL") or "info").lower(),
            "rate_limit": get("RATE_LIMIT"),
            "redis_url": get("REDIS_URL"),
            "rate_limit_prefix": get("RATE_LIMIT_PREFIX"),
        }
        origins = get("CORS_ORIGINS")
        if origins is not None:
            values["cors_origins"] = tuple(o.strip() for o in origins.split(",") if o.strip())
        for name in ("token_ttl_seconds", "threads", "max_header_bytes",
                     "header_timeout_seconds", "body_timeout_seconds"):
            raw = get(name.upper())
            if raw is not None:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise SettingsError(
                        f"INTERVIEWS_{name.upper()} must be a whole number") from None
        values |= webhook_settings(get)
        if values["jwt_secret"] is None:
            if values["env"] != "development":
                raise SettingsError("INTERVIEWS_JWT_SECRET is required outside development")
            values["jwt_secret"] = development_secret()
        return cls(**{k: v for k, v in values.items() if v is not None})


@functools.cache
def process_settings() -> Settings:
    """This process's settings: read from the environment on first use, then the same instance
    for everyone who asks (the command line, the factory's `asgi()`, the server protocol)."""
    return Settings.from_env()


def development_secret(path: Path = DEVELOPMENT_SECRET_FILE) -> str:
    """This install's development secret: made at random on first use (mode 0600), then reused.

    Several workers may start at once: the first link wins and every one reads the winner's.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    secret = path.read_text().strip()
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise SettingsError(f"{path} holds a secret under {MIN_SECRET_BYTES} bytes; delete it")
    return secret


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
