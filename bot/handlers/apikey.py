"""/setkey (a conversation, or one message) and /plan.

The message holding a key is deleted before anything else happens, the key is checked live
(which also detects the plan), and only a key CoinGlass accepted is stored — encrypted. The
key never appears in a reply, a log line or an error.
"""

from __future__ import annotations

import asyncio
import logging
import re

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop, BaseHandler, CommandHandler, ContextTypes, ConversationHandler,
    MessageHandler, filters,
)

from bot import texts
from bot.handlers.common import args_text, budget_of, caller, reply
from bot.services import services
from core.coinglass.detect import detect_plan
from core.coinglass.errors import AuthError, CoinGlassError, NoActivePlan
from core.plans import Plan
from core.storage.crypto import KeyUnreadable

log = logging.getLogger(__name__)

WAITING_KEY = 0
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")
CHECK_TIMEOUT_SECONDS = 30.0


async def _delete(message: Message | None) -> bool:
    if message is None:
        return False
    try:
        return bool(await message.delete())
    except TelegramError:
        return False


async def setkey(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Take the key from this message, or ask for it in the next one."""
    caller(update, context)
    key_text = args_text(update)
    if key_text:
        await _accept_key(update, context, key_text)
        raise ApplicationHandlerStop(ConversationHandler.END)
    await reply(update, context, texts.SETKEY_PROMPT)
    raise ApplicationHandlerStop(WAITING_KEY)


async def receive_key(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The user's next message is the key; no other handler may see it."""
    await _accept_key(update, context, update.effective_message.text or "")
    raise ApplicationHandlerStop(ConversationHandler.END)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel while we wait for a key."""
    await reply(update, context, texts.SETKEY_CANCELLED)
    raise ApplicationHandlerStop(ConversationHandler.END)


async def other_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Another command while we wait for a key: stop waiting and let that command run."""
    return ConversationHandler.END


async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/setkey in a group: remove the message at once and send the user to a private chat."""
    deleted = await _delete(update.effective_message)
    await reply(update, context, texts.SETKEY_GROUP if deleted else texts.SETKEY_GROUP_NOT_DELETED)


async def _accept_key(update: Update, context: ContextTypes.DEFAULT_TYPE, key_text: str) -> None:
    svc = services(context)
    user = caller(update, context)
    deleted = await _delete(update.effective_message)
    key = key_text.strip().strip("`'\"<>")
    if not KEY_PATTERN.match(key):
        note = "" if deleted else "\n(I could not delete your message; please delete it.)"
        await reply(update, context, texts.SETKEY_MALFORMED + note)
        return
    await _typing(update, context)
    refused = True
    try:
        detection = await asyncio.wait_for(detect_plan(svc.coinglass, key), CHECK_TIMEOUT_SECONDS)
    except NoActivePlan:
        result = texts.SETKEY_LAPSED
    except AuthError:
        result = texts.SETKEY_INVALID
    except asyncio.TimeoutError:
        result, refused = texts.setkey_unreachable("no answer in time"), False
    except CoinGlassError as exc:
        result, refused = texts.setkey_unreachable(texts.coinglass_failure(exc)), False
    else:
        result, refused = _store(context, user.id, key, detection), False
    if refused:
        # Keep no limiter for a key CoinGlass refused (2,000 bad attempts, 2,000 leaks).
        svc.coinglass.limiters.forget(key)
    # One reply: that the key's message is gone, and what CoinGlass said of the key.
    await reply(update, context, (texts.KEY_DELETED if deleted else texts.KEY_NOT_DELETED)
                + "\n" + result)


async def _typing(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show "typing…" while CoinGlass checks the key (cosmetic: failures are ignored)."""
    try:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    except TelegramError:
        pass


def _store(context: ContextTypes.DEFAULT_TYPE, user_id: int, key: str, detection) -> str:
    svc = services(context)
    try:
        old_key = svc.repo.api_key(user_id)
    except KeyUnreadable:   # an unreadable old key is replaced all the same
        old_key = None
    if old_key and old_key != key:
        svc.builder.forget_key(old_key)
    svc.repo.store_key(user_id, key, detection.plan, detection.per_minute,
                       detection.expires_at.timestamp() if detection.expires_at else None)
    user = svc.repo.get_user(user_id)
    coins = svc.repo.coins(user_id)
    budget = budget_of(context, user)
    svc.coinglass.limiters.for_key(key, budget.per_minute)
    log.info("user %s saved a key (plan %s via %s)", user_id, detection.plan.title,
             detection.source)
    return texts.setkey_saved(detection, coins, budget)


async def plan(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the plan, or override detection with /plan NAME."""
    svc = services(context)
    user = caller(update, context)
    name = args_text(update)
    if not name:
        await reply(update, context, texts.plan_text(user, budget_of(context, user)))
        return
    if name.lower() == "auto":
        chosen = None
    else:
        chosen = Plan.parse(name) if len(name) < 40 else None
        if chosen is None:
            await reply(update, context, texts.plan_names(name))
            return
    svc.repo.set_plan_override(user.id, chosen)
    user = svc.repo.get_user(user.id)
    await reply(update, context, texts.plan_overridden(chosen, user, budget_of(context, user)))


def conversation() -> ConversationHandler:
    """The /setkey conversation; registered in a group of its own so that the message
    holding a key reaches no other handler."""
    private = filters.ChatType.PRIVATE
    return ConversationHandler(
        entry_points=[CommandHandler("setkey", setkey, filters=private)],
        states={WAITING_KEY: [MessageHandler(private & filters.TEXT & ~filters.COMMAND,
                                             receive_key)]},
        fallbacks=[CommandHandler("cancel", cancel, filters=private),
                   MessageHandler(filters.COMMAND, other_command)],
        allow_reentry=True,
        conversation_timeout=600,
        name="setkey",
    )


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("setkey", in_group, filters=~private),
        CommandHandler("plan", plan, filters=private),
    ]
