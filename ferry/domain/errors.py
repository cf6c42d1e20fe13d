"""The one error tree. Every error a user can cause is a FerryError with an HTTP status and a
message that says what to change; `ferry.api.app` maps them to JSON responses in one place."""

from __future__ import annotations


class FerryError(Exception):
    """Base of all errors Ferry reports to a caller."""

    status: int = 500

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_body(self) -> dict[str, str]:
        body = {"error": self.message}
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(FerryError):
    """A header, path or body value cannot be accepted (400)."""

    status = 400


class Unauthorized(FerryError):
    """Missing or wrong token (401)."""

    status = 401


class NotFound(FerryError):
    """The message, schedule, queue or DLQ entry does not exist (404)."""

    status = 404


class PayloadTooLarge(FerryError):
    """The body is larger than a message can carry (413)."""

    status = 413


class Unavailable(FerryError):
    """A dependency (queue, table, secret) did not answer; the caller may retry (503)."""

    status = 503


def shown(text: str) -> str:
    """The user's value in double quotes, cut short if it is long: how every error message echoes
    what it refuses."""
    text = text if len(text) <= 60 else text[:57] + "..."
    return '"' + text.replace('"', '\\"') + '"'
