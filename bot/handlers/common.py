"""Helpers every handler module shares: replying, the caller's user row, argument handling."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.sender import send_html
from bot.services import services
from core.plans import Plan
from core.poller import effective_interval
from core.snapshot import required_interval
from core.storage.repo import User

MAX_ARGS_TEXT = 1000      # longer command arguments are refused before any parsing


async def reply(update: Update, context: ContextTypes.DEFAULT_TYPE, text: str,
                reply_markup=None) -> None:
    """Answer in the chat the update came from (HTML; callers escape user text)."""
    chat = update.effective_chat
    if chat is None:
        return
    await send_html(context.bot, chat.id, text, reply_markup=reply_markup)


def caller(update: Update, context: ContextTypes.DEFAULT_TYPE) -> User:
    """The calling user's row, created on first contact and active again if they had blocked
    the bot."""
    return services(context).repo.welcome(update.effective_user.id)[0]


def args_text(update: Update) -> str:
    """The text after the command (``/set oi_change 3`` → ``oi_change 3``)."""
    message = update.effective_message
    text = (message.text or message.caption or "") if message else ""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def interval_of(user: User, context: ContextTypes.DEFAULT_TYPE, coins: int) -> int:
    """The interval the user is polled at (their own, raised to fit their plan's budget)."""
    return effective_interval(user, services(context).settings.poll_interval_seconds, coins)


def fit_budget(context: ContextTypes.DEFAULT_TYPE, user_id: int, plan: Plan, per_minute: int,
               coins: int) -> int | None:
    """Raise the user's interval when their coins need more requests than the plan allows."""
    svc = services(context)
    user = svc.repo.get_user(user_id)
    current = user.interval_seconds or svc.settings.poll_interval_seconds
    needed = required_interval(plan, per_minute, coins)
    if needed > current:
        svc.repo.update_user(user_id, interval_seconds=needed)
        return needed
    return None
