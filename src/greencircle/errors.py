"""One error tree for the whole platform.

Every expected failure is a :class:`PlatformError` with a stable machine-readable
``code`` and an HTTP ``status_code``. The API renders it as
``{"error": code, "detail": ...}``; the CLI prints the same code and exits non-zero.
"""

from __future__ import annotations

from typing import Any


class PlatformError(Exception):
    """Root of all expected platform errors.

    Parameters
    ----------
    detail
        Human-readable explanation, or a structured payload (list of row errors...).
    code
        Stable error code; defaults to the class's ``code``.
    """

    code: str = "platform_error"
    status_code: int = 400

    def __init__(self, detail: Any = None, *, code: str | None = None) -> None:
        self.detail = detail if detail is not None else self.__class__.__doc__
        if code is not None:
            self.code = code
        super().__init__(f"{self.code}: {self.detail}")

    def to_dict(self) -> dict[str, Any]:
        """Return the wire form ``{"error": code, "detail": detail}``."""
        return {"error": self.code, "detail": self.detail}


class Invalid(PlatformError):
    """The request is well-formed but its content is not acceptable."""

    code = "invalid"
    status_code = 422


class BadRequest(PlatformError):
    """The request could not be parsed."""

    code = "bad_request"
    status_code = 400


class Unauthorized(PlatformError):
    """Authentication is missing or not valid."""

    code = "unauthorized"
    status_code = 401


class Forbidden(PlatformError):
    """The actor may not do this."""

    code = "forbidden"
    status_code = 403


class NotFound(PlatformError):
    """The resource does not exist or is not visible to the actor."""

    code = "not_found"
    status_code = 404


class Conflict(PlatformError):
    """The request conflicts with the current state."""

    code = "conflict"
    status_code = 409


class PayloadTooLarge(PlatformError):
    """The request body is larger than the configured limit."""

    code = "payload_too_large"
    status_code = 413


class RateLimited(PlatformError):
    """Too many requests; retry later."""

    code = "rate_limited"
    status_code = 429

    def __init__(self, detail: Any = None, *, retry_after_s: int = 60, code: str | None = None):
        self.retry_after_s = retry_after_s
        super().__init__(detail, code=code)


class LoginRequired(Unauthorized):
    """A console page was requested without a valid session (redirects to sign-in)."""

    code = "login_required"
