"""The simulated Telegram for one bot: its parts wired together, free of I/O.

``server.py`` puts HTTP, long polling and webhook delivery in front of it. The parts live in
their own modules: ``store`` (chats, messages), ``users`` (what people do), ``updates`` (the
queue and webhook settings), ``methods`` (the Bot API), ``flood`` (send limits), ``faults``
(injected errors). The names tests import are re-exported here and from ``sim.telegram``.
"""

from __future__ import annotations

from typing import Any, Callable

from .errors import ApiError, bad_request
from .faults import Fault, Faults
from .flood import SEND_METHODS, FloodControl, FloodLimits
from .methods import BotApi
from .models import ApiCall, BotMessage, Upload
from .store import MessageStore
from .updates import DEFAULT_UPDATE_TYPES, UpdateQueue
from .users import Users

__all__ = [
    "DEFAULT_UPDATE_TYPES",
    "ApiCall",
    "ApiError",
    "BotMessage",
    "FloodLimits",
    "TelegramState",
    "Upload",
    "bad_request",
]


class TelegramState:
    """In-memory Telegram as one bot sees it. ``on_change`` fires after every mutation."""

    def __init__(
        self,
        *,
        bot_id: int,
        bot_username: str,
        bot_name: str,
        clock: Callable[[], float],
        flood: FloodLimits | None = FloodLimits.telegram(),
        privacy_mode: bool = True,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.clock = clock
        self.on_change = on_change
        self.bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": not privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.store = MessageStore(self.bot_user, clock, on_change)
        self.updates = UpdateQueue(on_change)
        self.users = Users(self.store, self.updates, clock, privacy_mode)
        self.flood = FloodControl(flood, clock)
        self.faults = Faults()
        self.api = BotApi(self.store, self.updates, self.flood, clock)
        self._canonical = {name.lower(): name for name in self.api.methods}
        self._canonical["getupdates"] = "getUpdates"  # served by the HTTP layer (long polling)
        self.calls: list[ApiCall] = []

    def reset(self) -> None:
        """Forget everything the bot and its users did; keep its identity and flood limits."""
        self.store.reset()
        self.updates.reset()
        self.flood.reset()
        self.faults.clear()
        self.api.reset()
        self.calls = []
        self.on_change()

    # -- running methods -------------------------------------------------------------------

    def canonical(self, method: str) -> str:
        """``sendmessage`` → ``sendMessage``; unknown methods raise 404 like Telegram."""
        name = self._canonical.get(method.lower())
        if name is None:
            raise ApiError(404, "Not Found")
        return name

    def execute(self, method: str, params: dict) -> Any:
        """Run a (canonical) method other than getUpdates, honouring queued faults."""
        fault = self.take_fault(method)
        if fault is not None and not fault.deliver:
            raise fault.error()
        result = self.api.methods[method](params)
        if fault is not None:
            raise fault.error()  # done, but the bot is told it failed
        return result

    def take_fault(self, method: str) -> Fault | None:
        return self.faults.take(method)

    def fail_next(self, method: str, **fault: Any) -> None:
        self.faults.add(self.canonical(method), **fault)

    def record(self, call: ApiCall) -> None:
        self.calls.append(call)
        self.on_change()

    # -- what the bot did ------------------------------------------------------------------

    def sent_count(self, chat_id: int | None = None, method: str = "sendMessage") -> int:
        """Messages ``method`` delivered (for other methods: successful calls)."""
        if method in SEND_METHODS:
            return self.api.sent[(method, chat_id)]
        return sum(
            1
            for c in self.calls
            if c.ok and c.method == method and (chat_id is None or c.chat_id == chat_id)
        )

    def count_errors(self, code: int, chat_id: int | None = None) -> int:
        return sum(
            1
            for c in self.calls
            if c.error_code == code and (chat_id is None or c.chat_id == chat_id)
        )
