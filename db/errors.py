"""Domain errors: raised where a rule is broken, turned into problem+json in one place."""
from __future__ import annotations


class DomainError(Exception):
    """A request that breaks a rule; `status` and `code` say how to answer it."""

    status = 400
    code = "bad_request"
    title = "Bad Request"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class Invalid(DomainError):
    """Well-formed input that breaks a rule (`errors` names the fields)."""

    status = 422
    code = "invalid"
    title = "Unprocessable Content"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", errors=[{"field": field, "message": message}])


class Unworkable(DomainError):
    """Well-formed and consistent, but against a rule of the world (working hours, notice)."""

    status = 422
    title = "Unprocessable Content"

    def __init__(self, detail: str, code: str = "invalid", **extra: object) -> None:
        super().__init__(detail, **extra)
        self.code = code


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not Found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"

    def __init__(self, detail: str, code: str = "conflict", **extra: object) -> None:
        super().__init__(detail, **extra)
        self.code = code


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    title = "Precondition Failed"


class InvalidTransition(Conflict):
    """An action the interview's state does not allow now; lists what is allowed."""

    def __init__(self, detail: str, allowed: list[str], code: str = "invalid_transition") -> None:
        super().__init__(detail, code=code, allowed_actions=allowed)
