"""The Bot API's error answers, worded as Telegram words them.

A method raises :class:`ApiError`; the server turns it into Telegram's error body with the same
HTTP status, so python-telegram-bot raises what it would against api.telegram.org::

    400 Bad Request   -> telegram.error.BadRequest
    401 Unauthorized  -> telegram.error.InvalidToken
    403 Forbidden     -> telegram.error.Forbidden
    409 Conflict      -> telegram.error.Conflict
    429 + retry_after -> telegram.error.RetryAfter
    5xx               -> telegram.error.NetworkError
"""

from __future__ import annotations

from typing import Any

UNAUTHORIZED = "Unauthorized"
CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)


class ApiError(Exception):
    """A Bot API error: HTTP status ``code``, Telegram's ``description``, optional retry."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)
