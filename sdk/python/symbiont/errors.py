"""Typed exceptions of the symbiont SDK: one per HTTP error class the server
answers (SPEC §9: {"error", "code", "details"}), all under SymbiontError."""
from typing import Any, Dict, Optional


class SymbiontError(Exception):
    """An error answer from symbi, or a failure to reach it.

    status: the HTTP status (None when no answer arrived); code: the server's
    upper-case code (e.g. "NOT_FOUND"); details: the server's details object
    or None; message: the server's message."""

    def __init__(self, message: str, status: Optional[int] = None, code: Optional[str] = None,
                 details: Optional[Dict[str, Any]] = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details

    def __str__(self) -> str:
        where = f"{self.status} {self.code}" if self.status is not None else str(self.code)
        return f"{where}: {self.message}"


class ValidationError(SymbiontError):
    """400 or 422: a bad field, cron expression, time zone or query. field is
    details.field, the name of the field the server refused (or None)."""

    @property
    def field(self) -> Optional[str]:
        return self.details.get("field") if isinstance(self.details, dict) else None


class AuthenticationError(SymbiontError):
    """401: no API key, or a wrong or revoked one."""


class PermissionDeniedError(SymbiontError):
    """403: the key or approver may not do this."""


class NotFoundError(SymbiontError):
    """404: no such job, run or route."""


class ConflictError(SymbiontError):
    """409: the name is taken, the job runs max_concurrent times already, or
    the run is not in the state the call needs."""


class ConnectionError(SymbiontError):  # noqa: A001 - the SDK's own, a SymbiontError
    """The server could not be reached or its answer was not readable."""


_BY_STATUS = {400: ValidationError, 401: AuthenticationError, 403: PermissionDeniedError,
              404: NotFoundError, 409: ConflictError, 422: ValidationError}


def error_for(status: int, body: Any) -> SymbiontError:
    """The exception for an error answer with the given status and parsed body."""
    message, code, details = f"HTTP {status}", None, None
    if isinstance(body, dict):
        message = str(body.get("error") or message)
        code = body.get("code")
        details = body.get("details") if isinstance(body.get("details"), dict) else None
    elif isinstance(body, str) and body.strip():
        message = body.strip()[:500]
    cls = _BY_STATUS.get(status, SymbiontError)
    return cls(message, status=status, code=code, details=details)
