"""/start and /help: the only commands that also answer in groups."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot import texts
from bot.handlers.common import caller, interval_of, reply
from bot.services import services


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Create the user if new, greet, and show the next step (idempotent)."""
    svc = services(context)
    user, created = svc.repo.ensure_user(update.effective_user.id)
    if not user.active:
        svc.repo.set_active(user.id, True)
        user = svc.repo.get_user(user.id)
    coins = svc.repo.coins(user.id)
    await reply(update, context, texts.start_text(user, coins, created,
                                                  interval_of(user, context, len(coins))))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every command with one line each."""
    caller(update, context)
    await reply(update, context, texts.help_text(services(context).is_admin(update.effective_user.id)))


async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help in a group: explain that settings live in a private chat."""
    await reply(update, context, texts.GROUP_ONLY + "\n\n" + texts.help_text())


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private),
        CommandHandler("help", help_command, filters=private),
        CommandHandler(["start", "help"], in_group, filters=~private),
    ]
