"""/status, /history, /pause and /resume."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot import texts
from bot.handlers.common import args_text, budget_of, caller, reply
from bot.services import services
from core.storage.crypto import KeyUnreadable

_DURATION = re.compile(r"^(\d{1,5})\s*(s|sec|m|min|h|hr|d|day|days|w)?$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600, "d": 86400,
                 "day": 86400, "days": 86400, "w": 604800}
MAX_PAUSE_SECONDS = 30 * 86400


def parse_duration(text: str) -> int | None:
    """``30m``, ``2h``, ``1d``, ``90`` (minutes) → seconds; None if unreadable or out of range."""
    match = _DURATION.match(text.strip())
    if not match:
        return None
    unit = (match.group(2) or "m").lower()
    seconds = int(match.group(1)) * _UNIT_SECONDS[unit]
    return seconds if 60 <= seconds <= MAX_PAUSE_SECONDS else None


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Key state, plan, requests used vs limit, last and next poll, alerts in 24 h, last error."""
    svc = services(context)
    user = caller(update, context)
    now = svc.clock()
    used, resting = None, 0.0
    if user.key_state == "valid":
        try:
            key = svc.repo.api_key(user.id)
        except KeyUnreadable:
            key = None
        limiter = svc.coinglass.limiters.peek(key) if key else None
        used = limiter.used_last_minute() if limiter else 0
        resting = limiter.blocked_for if limiter else 0.0
    coins = svc.repo.coins(user.id)
    pending = svc.repo.pending_alerts(user.id)
    await reply(update, context, texts.status_text(
        user, now=now, used=used, coins=coins, budget=budget_of(context, user, len(coins)),
        alerts_24h=svc.repo.alerts_sent_since(user.id, now - 86400), pending=pending,
        resting_for=resting))


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The last 10 alerts with time and level."""
    svc = services(context)
    user = caller(update, context)
    await reply(update, context, texts.history_text(svc.repo.recent_alerts(user.id, 10), svc.clock()))


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Mute alerts (and stop polling) until /resume or for a duration."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    until = None
    if text:
        seconds = parse_duration(text) if len(text) < 20 else None
        if seconds is None:
            await reply(update, context, texts.PAUSE_USAGE)
            return
        until = svc.clock() + seconds
    svc.repo.pause(user.id, until)
    await reply(update, context, texts.paused(until, svc.clock()))


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Unmute; what became active meanwhile alerts as new."""
    svc = services(context)
    user = caller(update, context)
    was_paused = user.is_paused(svc.clock())
    if user.paused:
        svc.repo.resume(user.id)
    await reply(update, context, texts.resumed(was_paused))


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("status", status, filters=private),
        CommandHandler("history", history, filters=private),
        CommandHandler("pause", pause, filters=private),
        CommandHandler("resume", resume, filters=private),
    ]
