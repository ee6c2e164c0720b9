"""/start and /help (the only commands that also answer in groups), and block/unblock news."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import BaseHandler, ChatMemberHandler, CommandHandler, ContextTypes, filters

from bot import texts
from bot.handlers.common import budget_of, caller, reply
from bot.handlers.start_link import start_with_coins
from bot.services import services


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Create the user if new, greet, and show the next step (idempotent). ``/start ETH_SOL``
    (a one-tap link) also subscribes the coins: bot/handlers/start_link.py."""
    if context.args:
        await start_with_coins(update, context, "_".join(context.args))
        return
    svc = services(context)
    user, created = svc.repo.welcome(update.effective_user.id)
    coins = svc.repo.coins(user.id)
    await reply(update, context, texts.start_text(user, coins, created, budget_of(context, user)))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every command with one line each."""
    caller(update, context)
    await reply(update, context, texts.help_text(services(context).is_admin(update.effective_user.id),
                                                 context.bot.username))


async def membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Telegram says the user blocked (or unblocked) the bot in their private chat."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.PRIVATE:
        return
    repo = services(context).repo
    if repo.get_user(change.chat.id) is None:
        return
    blocked = change.new_chat_member.status == ChatMemberStatus.BANNED
    repo.set_active(change.chat.id, not blocked)


async def in_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help in a group: explain that settings live in a private chat."""
    await reply(update, context, texts.GROUP_ONLY + "\n\n" + texts.help_text())


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("start", start, filters=private),
        CommandHandler("help", help_command, filters=private),
        CommandHandler(["start", "help"], in_group, filters=~private),
        ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER),
    ]
