"""The one error handler: log with the traceback, answer the user with a friendly line.

It never includes secrets or raw upstream bodies in replies; known Telegram hiccups
(network blips, a user who blocked us) are logged briefly, not as bugs.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter
from telegram.ext import ContextTypes

from bot import texts
from bot.services import services

log = logging.getLogger(__name__)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if isinstance(error, Forbidden) and isinstance(update, Update):
        chat = update.effective_chat
        # Only a private chat's 403 means the user blocked us; a group's (we were removed,
        # or may not write there) says nothing about their private alerts.
        if chat is not None and chat.type == ChatType.PRIVATE:
            services(context).repo.set_active(chat.id, False)
            log.info("user %s blocked the bot", chat.id)
        else:
            log.info("Telegram refused a message to chat %s: %s",
                     chat.id if chat else "?", error.message)
        return
    if isinstance(error, (NetworkError, RetryAfter)) and not isinstance(error, BadRequest):
        log.warning("Telegram: %s", error)
        return
    log.error("unhandled error while handling an update", exc_info=error)
    if isinstance(update, Update) and update.effective_chat:
        try:
            await context.bot.send_message(update.effective_chat.id, texts.ERROR_TEXT)
        except Exception:       # the chat may be unreachable; nothing more to do
            log.debug("could not send the error reply", exc_info=True)
