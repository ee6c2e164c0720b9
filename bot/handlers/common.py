"""Helpers every handler module shares: replying, the caller's user row, argument handling."""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot.sender import send_html
from bot.services import services
from core.budget import Budget, budget_for
from core.users import User

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


def budget_of(context: ContextTypes.DEFAULT_TYPE, user: User,
              coins: int | None = None) -> Budget:
    """The user's plan, limit and interval (``core.budget``), for ``coins`` coins (default:
    the coins their polls cover: subscriptions, the coins of their rules and positions)."""
    svc = services(context)
    if coins is None:
        coins = len(svc.repo.polled_coins(user.id))
    return budget_for(user, coins, svc.settings.poll_interval_seconds)
