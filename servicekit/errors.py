"""One error family for every service, mapped to HTTP status codes in one place (edge.py).

Services subclass these for their own business errors; an expected business failure inside a
saga is a message (`response: FAIL` with a reason), not an exception.
"""

from __future__ import annotations


class DomainError(Exception):
    """A request that cannot be done as asked. `status` is the HTTP answer on an edge."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(DomainError):
    status = 400


class Unauthorized(DomainError):
    status = 401


class Forbidden(DomainError):
    status = 403


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The object is not in a state that allows the operation (or a stale `version`)."""

    status = 409


class Unprocessable(DomainError):
    """The body is well formed and what it names exists, but they do not fit together (a
    quote given for another address, an Idempotency-Key first sent with another body)."""

    status = 422


class TooManyRequests(DomainError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """A dependency (database, broker, neighbour) cannot be reached right now."""

    status = 503


class StaleWrite(Exception):
    """A conditional write found the document changed (its `version` moved on) since it was
    read: the caller reads again and retries (a transient error, like a write conflict)."""
