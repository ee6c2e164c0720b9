"""/forget: delete every row of the user, after a confirmation button."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import keyboards, texts
from bot.handlers.common import caller, reply
from bot.services import services
from core.storage.crypto import KeyUnreadable


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask to confirm with buttons."""
    caller(update, context)
    await reply(update, context, texts.FORGET_CONFIRM, keyboards.forget_confirm())


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Yes deletes key, coins, thresholds and history; No keeps everything."""
    query = update.callback_query
    await query.answer()
    svc = services(context)
    user_id = update.effective_user.id
    if query.data != "forget:yes":
        await query.edit_message_text(texts.FORGET_KEPT)
        return
    try:
        key = svc.repo.api_key(user_id)
    except KeyUnreadable:
        key = None
    if key:
        svc.builder.forget_key(key)
        svc.coinglass.limiters.forget(key)
    svc.repo.delete_user(user_id)
    await query.edit_message_text(texts.FORGET_DONE)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("forget", forget, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(confirm, pattern=r"^forget:(yes|no)$"),
    ]
