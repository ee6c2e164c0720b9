"""Errors a test queues for the next calls of a method (``TelegramSim.fail_next``)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from .errors import CONFLICT_OTHER_POLL, UNAUTHORIZED, ApiError

_DEFAULT_TEXT = {
    400: "Bad Request: injected failure",
    401: UNAUTHORIZED,
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: CONFLICT_OTHER_POLL,
    429: "Too Many Requests: retry after {retry}",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Fault:
    code: int
    description: str
    retry_after: int | None
    deliver: bool  # run the method anyway: the classic "sent, but the reply was lost"

    def error(self) -> ApiError:
        return ApiError(self.code, self.description, self.retry_after)


class Faults:
    """Per-method queues of :class:`Fault`, consumed one call at a time."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}

    def add(
        self,
        method: str,
        *,
        error_code: int,
        retry_after: int,
        description: str | None,
        times: int,
        deliver: bool,
    ) -> None:
        if description is None:
            description = _DEFAULT_TEXT.get(error_code, f"Error {error_code}")
            description = description.format(retry=retry_after)
        fault = Fault(error_code, description, retry_after if error_code == 429 else None, deliver)
        self._queues.setdefault(method, deque()).extend([fault] * times)

    def take(self, method: str) -> Fault | None:
        queue = self._queues.get(method)
        return queue.popleft() if queue else None

    def clear(self) -> None:
        self._queues.clear()
