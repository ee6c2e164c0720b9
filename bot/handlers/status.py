"""/status, /history, /pause and /resume."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot import keyboards, texts
from bot.handlers.common import MAX_ARGS_TEXT, args_text, budget_of, caller, reply
from bot.services import services
from core.coins import parse_coins
from core.durations import DurationError, parse_duration
from core.storage.crypto import KeyUnreadable
from core.timezones import tz_of

MAX_PAUSE_SECONDS = 30 * 86400

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
    # The coins polls cover: subscriptions, then coins polled for a position only.
    coins = svc.repo.coins(user.id) + svc.repo.position_only_coins(user.id)
    pending = svc.repo.pending_alerts(user.id)
    await reply(update, context, texts.status_text(
        user, now=now, used=used, coins=coins, budget=budget_of(context, user, len(coins)),
        alerts_24h=svc.repo.alerts_sent_since(user.id, now - 86400), pending=pending,
        resting_for=resting))


async def history(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The last 10 alerts with time and level."""
    svc = services(context)
    user = caller(update, context)
    items = svc.repo.recent_alerts(user.id, 10)
    await reply(update, context, texts.history_text(items, svc.clock(), tz_of(user.timezone)),
                keyboards.history_buttons([i.id for i in items]))


async def pause(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Mute alerts (and stop polling) until /resume or for a duration."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    until = None
    if text:
        try:
            seconds = parse_duration(text[:40], minimum=60, maximum=MAX_PAUSE_SECONDS)
        except DurationError as exc:
            await reply(update, context, texts.pause_bad_duration(str(exc)))
            return
        until = svc.clock() + seconds
    svc.repo.pause(user.id, until)
    await reply(update, context, texts.paused(until, svc.clock()))


async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/resume: alerts back on (what started meanwhile alerts as new); /resume SYM: unmute."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    if text:
        parsed = parse_coins(text[:MAX_ARGS_TEXT])
        if len(parsed.coins) != 1 or parsed.malformed:
            await reply(update, context, texts.MUTE_USAGE)
            return
        coin = parsed.coins[0]
        unmuted = svc.repo.unmute(user.id, coin)
        await reply(update, context, texts.unmuted(unmuted) if unmuted else texts.not_muted(coin))
        return
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
