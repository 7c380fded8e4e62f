"""Domain errors: raised where a rule is broken. They say what broke (`code`, `detail`,
extra members); how that is answered over HTTP is the handler layer's business
(handlers/wire/problems.py maps each class to a status)."""
from __future__ import annotations


class DomainError(Exception):
    """A request that breaks a rule; `code` names the rule, `extra` adds members."""

    code = "bad_request"

    def __init__(self, detail: str, code: str | None = None, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.extra = extra


class Malformed(DomainError):
    """Input that cannot be read at all (a forged cursor, say): `errors` names the field."""

    def __init__(self, field: str, message: str, code: str = "bad_request") -> None:
        super().__init__(f"{field}: {message}", code=code,
                         errors=[{"field": field, "message": message}])


class Invalid(DomainError):
    """Well-formed input that breaks a rule (`errors` names the fields)."""

    code = "invalid"

    def __init__(self, field: str, message: str, code: str | None = None) -> None:
        super().__init__(f"{field}: {message}", code=code,
                         errors=[{"field": field, "message": message}])


class Unworkable(DomainError):
    """Well-formed and consistent, but against a rule of the world (working hours, notice)."""

    code = "invalid"


class Forbidden(DomainError):
    code = "forbidden"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class PreconditionFailed(DomainError):
    code = "precondition_failed"


class Unavailable(DomainError):
    """A part the service needs (the database) does not answer."""

    code = "unavailable"


class InvalidTransition(Conflict):
    """An action the interview's state does not allow now; lists what is allowed."""

    def __init__(self, detail: str, allowed: list[str], code: str = "invalid_transition") -> None:
        super().__init__(detail, code=code, allowed_actions=allowed)
