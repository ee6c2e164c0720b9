"""Updates of one chat in order, different chats in parallel.

python-telegram-bot's ``ConversationHandler`` needs the updates of one chat handled one after
the other: with plain concurrent updates, a key sent right after ``/setkey`` (the same
``getUpdates`` batch, or a backlog after downtime) is handled before the conversation is
waiting for it, and falls to the stray-text handler with the key still in the chat.
:class:`PerChatUpdateProcessor` queues each chat's updates behind one lock (asyncio's locks
wake waiters in arrival order, and the Application starts update tasks in arrival order), while
other chats go on concurrently.
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable

from telegram import Update
from telegram.ext import BaseUpdateProcessor


def chat_of(update: object) -> int | None:
    """The chat an update belongs to (its user's when it has no chat), None if neither."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 256):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @property
    def chats_waiting(self) -> int:
        return len(self._locks)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = chat_of(update)
        if chat is None:
            await coroutine
            return
        lock, users = self._locks.get(chat, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[chat] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._locks[chat]
            if users <= 1:
                del self._locks[chat]
            else:
                self._locks[chat] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
