"""/list and /set: every threshold, user-wide or per coin, validated before anything changes."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot import rule_texts, texts
from bot.handlers.common import MAX_ARGS_TEXT, args_text, budget_of, caller, reply
from bot.previews import reply_with_preview
from bot.services import services
from core.coins import parse_coins
from core.previews import PreviewAsk
from core.users import INTERVAL_AUTO
from core.thresholds import SPECS, ThresholdError, parse_value


async def list_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plan, interval, pause state, coins and every threshold (overrides marked)."""
    svc = services(context)
    user = caller(update, context)
    coins = svc.repo.coins(user.id)
    user_wide, per_coin = svc.repo.thresholds(user.id)
    now = svc.clock()
    await reply(update, context, texts.list_text(
        user, coins, user_wide, per_coin, svc.repo.disabled_signals(user.id),
        budget_of(context, user), now, texts.pause_state(user, now),
        rules_line=rule_texts.list_line(svc.repo.rules(user.id), coins)))


async def set_threshold(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/set NAME VALUE, /set SYM NAME VALUE; VALUE ``default`` resets."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    parts = text.split() if len(text) <= MAX_ARGS_TEXT else []
    if len(parts) not in (2, 3):
        await reply(update, context, texts.set_usage(user.effective_plan))
        return
    coin = None
    if len(parts) == 3:
        parsed = parse_coins(parts[0])
        if len(parsed.coins) != 1 or parsed.malformed:
            await reply(update, context, texts.set_usage(user.effective_plan))
            return
        coin = parsed.coins[0]
        parts = parts[1:]
    name, value_text = parts[0].lower(), parts[1]
    if name == "interval":
        await _set_interval(update, context, user, value_text, coin)
        return
    plan = user.effective_plan
    spec = SPECS.get(name)
    if spec is None:
        await reply(update, context, texts.unknown_threshold(parts[0], plan))
        return
    if spec.min_plan > plan:
        await reply(update, context, texts.threshold_needs_plan(name, plan, spec.min_plan))
        return
    if coin is not None and coin not in svc.repo.coins(user.id):
        await reply(update, context, texts.coin_not_watched(coin))
        return
    before = svc.repo.prefs(user.id)
    if value_text.lower() == "default":
        svc.repo.reset_threshold(user.id, name, coin)
        ask = PreviewAsk(user.id, (name,), before, svc.repo.prefs(user.id), coin)
        await reply_with_preview(update, context, texts.threshold_set(name, None, coin), ask)
        return
    try:
        value = parse_value(name, value_text)
    except ThresholdError as exc:
        await reply(update, context, texts.threshold_error(str(exc)))
        return
    svc.repo.set_threshold(user.id, name, value, coin)
    # The reply says what the new value would have sent over the last 7 days (SPEC §14).
    ask = PreviewAsk(user.id, (name,), before, svc.repo.prefs(user.id), coin)
    await reply_with_preview(update, context, texts.threshold_set(name, value, coin), ask)


MAX_INTERVAL_SECONDS = 86400


async def _set_interval(update: Update, context: ContextTypes.DEFAULT_TYPE, user,
                        value_text: str, coin: str | None) -> None:
    """/set interval SECONDS|auto|default: the user's own poll interval (SPEC §10)."""
    svc = services(context)
    if coin is not None:
        await reply(update, context, texts.INTERVAL_NOT_PER_COIN)
        return
    word = value_text.lower()
    if word in ("auto", "default"):
        seconds = INTERVAL_AUTO if word == "auto" else None
    else:
        seconds = int(word[:-1] if word.endswith("s") else word) if (
            word[:-1] if word.endswith("s") else word).isdigit() else -1
        if not 1 <= seconds <= MAX_INTERVAL_SECONDS:
            await reply(update, context, texts.interval_usage(MAX_INTERVAL_SECONDS))
            return
    svc.repo.set_interval(user.id, seconds)
    user = svc.repo.get_user(user.id)
    await reply(update, context, texts.interval_set(budget_of(context, user)))


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("list", list_settings, filters=private),
        CommandHandler("set", set_threshold, filters=private),
    ]
