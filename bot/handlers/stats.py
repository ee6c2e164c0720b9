"""/stats [SYM] [30d|7d]: the user's own alert record, per signal (SPEC §14)."""

from __future__ import annotations

import re

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot.handlers.common import MAX_ARGS_TEXT, args_text, caller, reply
from bot.outcome_texts import STATS_USAGE, stats_coin_not_watched, stats_text
from bot.outcomes import outcome_services
from bot.services import services
from core.coins import parse_coins, suggestions
from core.outcomes import stats

PERIODS = {"30d": 30, "7d": 7}
PERIOD_LIKE = re.compile(r"^\d+\s*(d|h|w|m|days?|weeks?)?$", re.IGNORECASE)
DEFAULT_DAYS = 30
STATS_HORIZONS = 2            # agreement shares at the two shortest horizons (1h and 4h)


def parse_stats_args(text: str) -> tuple[str | None, int] | None:
    """``ETH 7d`` → ("ETH", 7); ``""`` → (None, 30); anything else → None."""
    coin, days = None, None
    for word in text.split():
        if word.lower() in PERIODS and days is None:
            days = PERIODS[word.lower()]
            continue
        if PERIOD_LIKE.match(word):
            return None                      # a period we do not keep (14d, 2w, 24h, 7)
        parsed = parse_coins(word)
        if coin is not None or len(parsed.coins) != 1 or parsed.malformed:
            return None
        coin = parsed.coins[0]
    return coin, days or DEFAULT_DAYS


async def show_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Per signal: alerts, the share the price followed at 1 h / 4 h, median, best, worst."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    parsed = parse_stats_args(text) if len(text) <= MAX_ARGS_TEXT else None
    if parsed is None:
        await reply(update, context, STATS_USAGE)
        return
    coin, days = parsed
    outs = outcome_services(context)
    horizons = outs.horizons[:STATS_HORIZONS]
    since = svc.clock() - days * 86400
    records = outs.store.records(user.id, since, coin)
    text = stats_text(stats(records, since, horizons=horizons), days=days, coin=coin,
                      horizons=horizons, measured=outs.horizons)
    watched = svc.repo.coins(user.id)
    if coin is not None and not records and coin not in watched:
        text += "\n" + stats_coin_not_watched(coin, suggestions(coin, watched, n=1))
    await reply(update, context, text)


def handlers() -> list[BaseHandler]:
    return [CommandHandler("stats", show_stats, filters=filters.ChatType.PRIVATE)]
