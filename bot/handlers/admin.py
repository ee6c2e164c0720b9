"""/admin: operator overview for ADMIN_USER_IDS; everyone else is told it is unknown."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot import __version__, texts
from bot.handlers.common import reply
from bot.services import services


async def admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Users, active subscribers, polls and alerts in 24 h, error counts."""
    svc = services(context)
    if not svc.is_admin(update.effective_user.id):
        await reply(update, context, texts.unknown_command("/admin"))
        return
    now = svc.clock()
    await reply(update, context, texts.admin_text(
        svc.repo.overview(), svc.repo.counters_since(now - 86400), version=__version__,
        uptime=now - svc.started_at, polls_running=svc.scheduler.in_flight))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("admin", admin, filters=filters.ChatType.PRIVATE)]
