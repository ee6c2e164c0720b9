"""One-tap start links (SPEC §17): ``t.me/<bot>?start=ETH_SOL`` arrives as ``/start ETH_SOL``.

The user is greeted and the coins are subscribed in the same tap once a key is set (checked
and budgeted like ``/subscribe``). Before a key they are remembered (subscriptions without a
key, as ``/subscribe`` stores them) and polling starts after ``/setkey``. Unknown symbols get
close matches when CoinGlass's coin list is known.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import ContextTypes

from bot import keyboards, rule_texts, texts
from bot.handlers.common import budget_of, reply
from bot.handlers.subscribe import MAX_COINS, closest_first, _add as subscribe_coins
from bot.services import services
from core.coins import suggestions
from core.deeplinks import StartPayloadError, parse_start_payload


async def start_with_coins(update: Update, context: ContextTypes.DEFAULT_TYPE,
                           payload: str) -> None:
    """/start PAYLOAD: greet, then subscribe (key set) or remember (no key) its coins."""
    svc = services(context)
    user, created = svc.repo.welcome(update.effective_user.id)
    greeting = "👋 Welcome to <b>perpwatch</b>." if created else "👋 Welcome back."
    try:
        coins = parse_start_payload(payload)
    except StartPayloadError as exc:
        await reply(update, context, rule_texts.start_link_bad(greeting, str(exc)))
        return
    if not coins:
        watched = svc.repo.coins(user.id)
        await reply(update, context, texts.start_text(user, watched, created,
                                                      budget_of(context, user)))
        return
    if user.key_state == "valid":
        answer, close = await subscribe_coins(context, user.id, coins, [])
        await reply(update, context, rule_texts.start_link_added(greeting, answer),
                    keyboards.suggestions(close))
        return
    watched = svc.repo.coins(user.id)
    already = [c for c in coins if c in watched]
    fresh = [c for c in coins if c not in watched]
    supported = svc.coins.cached          # no key: only a list another user's key fetched
    unknown: dict[str, list[str]] = {}
    if supported is not None:
        known = set(supported)
        unknown = {c: suggestions(c, supported) for c in fresh if c not in known}
        fresh = [c for c in fresh if c in known]
    room = max(0, MAX_COINS - len(watched))
    saved = svc.repo.add_coins(user.id, fresh[:room])
    close = closest_first(unknown, watched)
    await reply(update, context, rule_texts.start_link_saved(
        greeting, saved, unknown, already, fresh[room:], unchecked=supported is None,
        total=MAX_COINS), keyboards.suggestions(close))
