"""Telegram's flood control as published, kept as a sliding log of accepted sends.

The limits (:meth:`FloodLimits.telegram`, on by default):

- the whole bot: at most 30 sends in any 1-second window;
- a private chat: at most 1 send in any 1-second window;
- a group, supergroup or channel: at most 20 sends in any 60-second window.

Windows are half-open, so sends at ``t`` and ``t + 1.0`` share no 1-second window. Nothing
refills ahead of time: a send is accepted only if the log of accepted sends leaves room in
every window that contains it.

Sends are the methods in :data:`SEND_METHODS`. Edits (``editMessage*``), ``deleteMessage*``,
``answerCallbackQuery``, ``sendChatAction`` and every other method are not counted: Telegram
limits them separately and far more loosely than messages.

A send that would overfill a window is a violation: it is refused with 429 and
``retry_after`` = whole seconds until the window frees (at least 1), and its scope (the whole
bot, or the chat) is put under a flood wait for those ``retry_after`` seconds. A send into a
scope under a flood wait is refused with the whole seconds left (at least 1); it is not logged
and neither extends the wait nor escalates it, because requests already in flight when the
first 429 left cannot have known better.

Escalation (``escalate=True``), so a bot that does not pace itself is found out: a violation
within 30 s after the scope's previous flood wait ended gets at least double that wait, capped at
30 s (1, 2, 4, 8, 16, 30, 30...), and never less than the window needs. 30 s without a
violation after a wait ends starts the scope again from the window's need.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Callable

from .errors import too_many_requests

SEND_METHODS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
    }
)
ESCALATION_WINDOW = 30.0  # seconds after a flood wait in which a violation escalates
MAX_ESCALATED_WAIT = 30  # seconds; escalation never goes beyond (a window may need more)


@dataclass(frozen=True)
class FloodLimits:
    """How many sends fit a window; ``None`` drops that one limit."""

    global_per_second: int | None = 30
    private_per_second: int | None = 1
    group_per_minute: int | None = 20
    escalate: bool = True

    def __post_init__(self) -> None:
        for name in ("global_per_second", "private_per_second", "group_per_minute"):
            value = getattr(self, name)
            if value is not None and (value != int(value) or value < 1):
                raise ValueError(f"{name} must be a whole number of sends >= 1 (or None)")

    @classmethod
    def telegram(cls) -> FloodLimits:
        """The limits Telegram publishes for bots."""
        return cls()

    def for_chat(self, chat_type: str) -> tuple[int | None, float]:
        """(sends, window in seconds) for a chat of ``chat_type``."""
        if chat_type == "private":
            return self.private_per_second, 1.0
        return self.group_per_minute, 60.0


@dataclass
class _Scope:
    """The accepted-send log of the whole bot or of one chat, and its flood wait."""

    sends: list[float] = field(default_factory=list)  # kept sorted
    wait_until: float = -math.inf
    last_wait: int = 0

    def refusal(self, limit: int | None, window: float, now: float, escalate: bool) -> int:
        """0 if a send fits now, else the ``retry_after`` to answer (starting a wait if due)."""
        if now < self.wait_until:
            return max(1, math.ceil(self.wait_until - now))
        if limit is None:
            return 0
        first = bisect.bisect_right(self.sends, now - window)
        in_window = len(self.sends) - first
        if in_window < limit:
            return 0
        retry = max(1, math.ceil(self.sends[first + in_window - limit] + window - now))
        if escalate and now - self.wait_until <= ESCALATION_WINDOW:
            retry = max(retry, min(MAX_ESCALATED_WAIT, 2 * self.last_wait))
        self.wait_until, self.last_wait = now + retry, retry
        return retry

    def forgive(self) -> None:
        self.wait_until, self.last_wait = -math.inf, 0


class FloodControl:
    """Admits sends under :class:`FloodLimits` (``None``: admit all) and logs accepted ones."""

    def __init__(self, limits: FloodLimits | None, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._bot = _Scope()
        self._chats: dict[int, _Scope] = {}

    def configure(self, limits: FloodLimits | None) -> None:
        """New limits from now on; sends already logged still fill the windows."""
        self.limits = limits
        for scope in (self._bot, *self._chats.values()):
            scope.forgive()

    def admit(self, chat_id: int, chat_type: str) -> None:
        """Log a send into ``chat_id`` now, or raise 429 without logging it."""
        now = self.clock()
        chat = self._chats.setdefault(chat_id, _Scope())
        if self.limits is not None:
            chat_limit, chat_window = self.limits.for_chat(chat_type)
            escalate = self.limits.escalate
            retry = max(
                self._bot.refusal(self.limits.global_per_second, 1.0, now, escalate),
                chat.refusal(chat_limit, chat_window, now, escalate),
            )
            if retry:
                raise too_many_requests(retry)
        bisect.insort(self._bot.sends, now)
        bisect.insort(chat.sends, now)

    def send_times(self, chat_id: int | None = None) -> list[float]:
        """Times of accepted sends, oldest first: the whole bot's, or one chat's."""
        scope = self._bot if chat_id is None else self._chats.get(chat_id, _Scope())
        return list(scope.sends)

    def max_in_window(self, seconds: float, chat_id: int | None = None) -> int:
        """The most accepted sends found in any half-open window of ``seconds``."""
        times = self.send_times(chat_id)
        best = first = 0
        for last, time in enumerate(times):
            while time - times[first] >= seconds:
                first += 1
            best = max(best, last - first + 1)
        return best

    def reset(self) -> None:
        self._bot = _Scope()
        self._chats = {}
