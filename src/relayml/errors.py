"""Every error Relay raises.

    RelayError                       500  exit 70  an internal error (a bug: please report it)
    ├── InvalidInput                 400  exit 2   malformed value, filter, path, name
    │   └── FilterSyntaxError        400  exit 2   a search filter that does not parse
    ├── Unauthenticated              401  exit 3   no or unknown token
    ├── PermissionDenied             403  exit 4   the caller's roles do not allow the action
    ├── NotFound                     404  exit 5   no such project, run, user, artifact, ...
    ├── Conflict                     409  exit 6   already exists, immutable value changed
    ├── Unprocessable                422  exit 7   well-formed but refused (quarantined, bad state)
    ├── SchemaVersionError           500  exit 8   the database is newer than this Relay
    ├── IntegrityError               500  exit 9   stored bytes or audit chain do not verify
    ├── UserCodeError                500  exit 10  the user's own code raised
    ├── ServerUnavailable            503  exit 11  the Relay server could not be reached
    ├── TooLarge                     413  exit 12  a request body over the server's limit
    └── Timeout                      503  exit 13  a database statement ran past its time limit

Each class carries its HTTP status and CLI exit code; the API and the CLI translate once, at
their edge. Exit 1 is left to the CI gates (`relay drift --fail-on-drift`, `relay contracts
check`: "the check failed"), so a script can tell a failed gate from a broken run; an unexpected
exception in the CLI exits 70 too (EX_SOFTWARE in sysexits.h). Messages say what was wrong,
with the offending value, and what to do instead.
"""

from __future__ import annotations

from typing import Any, ClassVar


class RelayError(Exception):
    """Root of every error Relay raises."""

    http_status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 70
    code: ClassVar[str] = "relay_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidInput(RelayError):
    http_status = 400
    exit_code = 2
    code = "invalid_input"


class FilterSyntaxError(InvalidInput):
    code = "filter_syntax"

    def __init__(self, message: str, *, text: str, position: int) -> None:
        pointer = f"\n  {text}\n  {' ' * position}^"
        super().__init__(f"{message} at position {position}{pointer}", position=position)
        self.position = position


class Unauthenticated(RelayError):
    http_status = 401
    exit_code = 3
    code = "unauthenticated"


class PermissionDenied(RelayError):
    http_status = 403
    exit_code = 4
    code = "permission_denied"
    audit_record: dict[str, Any] | None = None  # the denied attempt, for the service to audit


class NotFound(RelayError):
    http_status = 404
    exit_code = 5
    code = "not_found"


class Conflict(RelayError):
    http_status = 409
    exit_code = 6
    code = "conflict"


class Unprocessable(RelayError):
    http_status = 422
    exit_code = 7
    code = "unprocessable"


class SchemaVersionError(RelayError):
    exit_code = 8
    code = "schema_version"


class IntegrityError(RelayError):
    exit_code = 9
    code = "integrity"


class UserCodeError(RelayError):
    exit_code = 10
    code = "user_code"

    def __init__(self, message: str, *, user_traceback: str = "", **details: Any) -> None:
        super().__init__(message, **details)
        self.user_traceback = user_traceback


class ServerUnavailable(RelayError):
    http_status = 503
    exit_code = 11
    code = "server_unavailable"


class TooLarge(RelayError):
    http_status = 413
    exit_code = 12
    code = "too_large"


class Timeout(RelayError):
    http_status = 503
    exit_code = 13
    code = "timeout"


ERRORS_BY_CODE: dict[str, type[RelayError]] = {
    cls.code: cls
    for cls in (
        RelayError,
        InvalidInput,
        FilterSyntaxError,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        Conflict,
        Unprocessable,
        SchemaVersionError,
        IntegrityError,
        UserCodeError,
        ServerUnavailable,
        TooLarge,
        Timeout,
    )
}


def from_dict(payload: dict[str, Any]) -> RelayError:
    """Rebuild an error sent by the server (the http client raises the same class)."""
    cls = ERRORS_BY_CODE.get(str(payload.get("code")), RelayError)
    message = str(payload.get("message", "unknown error"))
    err = RelayError.__new__(cls)
    RelayError.__init__(err, message, **(payload.get("details") or {}))
    if isinstance(err, FilterSyntaxError):
        err.position = int(err.details.get("position", 0))
    return err
