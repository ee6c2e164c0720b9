"""/snapshot SYM [VIEW]: fetch now with the user's key; the market and every signal firing now.

VIEW names one section (``clusters``, ``walls``, ``whales``...) to check that it is in the
user's plan before spending requests on it.
"""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, ContextTypes, filters

from bot import texts
from bot.format import esc
from bot.handlers.common import MAX_ARGS_TEXT, args_text, budget_of, caller, reply
from bot.services import services
from core import market as m
from core.coins import parse_coins, suggestions
from core.coinglass.errors import NoActivePlan
from bot.snapshot_views import VIEWS, view_text
from core.evaluation import evaluate_coin
from core.timezones import tz_of
from core.storage.crypto import KeyUnreadable
from core.summary import summarize

USAGE = ("Which coin? /snapshot ETH — or one part of it in full: /snapshot ETH VIEW, with VIEW "
         "one of " + ", ".join(sorted(VIEWS)) + ".")


async def snapshot(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the market snapshot and the signals firing now (cooldowns ignored)."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    words = text.split() if len(text) <= MAX_ARGS_TEXT else []
    if not 1 <= len(words) <= 2:
        await reply(update, context, USAGE)
        return
    parsed = parse_coins(words[0])
    if len(parsed.coins) != 1 or parsed.malformed:
        await reply(update, context, USAGE)
        return
    coin = parsed.coins[0]
    plan = user.effective_plan
    view = None
    if len(words) == 2:
        view = words[1].lower()
        if view not in VIEWS:
            await reply(update, context, f"I don't know the view {esc(words[1][:30])}. " + USAGE)
            return
        section = VIEWS[view][0]
        needed = m.SECTION_MIN_PLAN[section]
        if needed > plan:
            await reply(update, context,
                        f"The {esc(m.SECTION_TITLES[section])} view needs the {needed.title} plan; "
                        f"yours is {plan.title}. /plan shows what each plan unlocks.")
            return
    if user.key_state != "valid":
        await reply(update, context, "I need your CoinGlass key first: /setkey." if
                    user.key_state == "none" else
                    "CoinGlass rejected your key — send a new one with /setkey.")
        return
    try:
        key = svc.repo.api_key(user.id)
    except KeyUnreadable:
        await reply(update, context, texts.notice_text({"notice": "key_unreadable"}))
        return
    budget = budget_of(context, user)
    supported = await svc.coins.get(key, per_minute=budget.per_minute)
    if supported is not None and coin not in set(supported):
        close = suggestions(coin, supported)
        hint = f" Did you mean {esc(', '.join(close))}?" if close else ""
        await reply(update, context, f"❓ Unknown coin {esc(coin)}.{hint}")
        return
    try:
        await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    except TelegramError:
        pass                # cosmetic
    batch = await svc.builder.build(key, budget_of(context, user, 1), [coin], complete=True)
    if batch.auth_error is not None:
        notice = "plan_lapsed" if isinstance(batch.auth_error, NoActivePlan) else "key_rejected"
        svc.repo.reject_key(user.id, str(batch.auth_error))
        await reply(update, context, texts.notice_text({"notice": notice}))
        return
    snap = batch.snapshots[coin]
    if not snap.present():
        reason = batch.errors[0] if batch.errors else "no data"
        await reply(update, context, f"⏳ CoinGlass did not answer for {esc(coin)} "
                                     f"({esc(reason)}). Try again in a minute.")
        return
    tz = tz_of(user.timezone)
    if view is not None:
        await reply(update, context, view_text(view, snap, svc.clock(), tz))
        return
    evaluation = evaluate_coin(snap, svc.repo.prefs(user.id))
    await reply(update, context, texts.snapshot_text(summarize(snap), evaluation.signals,
                                                     evaluation.regime, evaluation.unevaluated,
                                                     svc.clock(), tz))


def handlers() -> list[BaseHandler]:
    return [CommandHandler("snapshot", snapshot, filters=filters.ChatType.PRIVATE)]
