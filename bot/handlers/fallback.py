"""Last resort: unknown commands, commands sent in groups, stray text. Registered last."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, MessageHandler, filters

from bot import texts
from bot.handlers.common import caller, reply

# Our commands; in a group only these get the "private chat" answer (others may be other bots').
GROUP_EXPLAINED = [name for name, _ in texts.COMMANDS if name not in ("start", "help")] + ["admin"]


class _CommandForUs(filters.MessageFilter):
    """A command without ``@bot`` or with our own username (not another bot's)."""

    def filter(self, message) -> bool:
        head = (message.text or "").split(maxsplit=1)[0] if message.text else ""
        if not head.startswith("/"):
            return False
        if "@" not in head:
            return True
        username = message.get_bot().username or ""
        return head.split("@", 1)[1].lower() == username.lower()


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/cancel with no conversation going on."""
    caller(update, context)
    await reply(update, context, texts.NOTHING_TO_CANCEL)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command we do not have."""
    caller(update, context)
    command = (update.effective_message.text or "").split(maxsplit=1)[0].split("@", 1)[0]
    await reply(update, context, texts.unknown_command(command))


async def group_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other command in a group: settings live in private chats."""
    await reply(update, context, texts.GROUP_ONLY)


async def stray(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Text (or anything else) outside a conversation: a one-line hint."""
    caller(update, context)
    await reply(update, context, texts.UNKNOWN_TEXT)


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("cancel", cancel, filters=private),
        MessageHandler(private & filters.COMMAND & _CommandForUs(), unknown_command),
        CommandHandler(GROUP_EXPLAINED, group_command, filters=~private),
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, stray),
    ]
