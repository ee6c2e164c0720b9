"""/subscribe and /unsubscribe: coins checked against CoinGlass, the poll budget respected."""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import keyboards, texts
from bot.handlers.common import MAX_ARGS_TEXT, args_text, budget_of, caller, reply
from bot.services import services
from core.coins import parse_coins, suggestions
from core.storage.crypto import KeyUnreadable

MAX_COINS = 30


async def _add(context: ContextTypes.DEFAULT_TYPE, user_id: int, wanted: list[str],
               malformed: list[str]) -> tuple[str, list[str]]:
    """Validate and add coins; returns the reply and the suggested coins."""
    svc = services(context)
    user = svc.repo.get_user(user_id)
    watched = svc.repo.coins(user_id)
    already = [c for c in wanted if c in watched]
    fresh = [c for c in wanted if c not in watched]
    supported = None
    key = None
    if user.key_state == "valid":
        try:
            key = svc.repo.api_key(user_id)
        except KeyUnreadable:
            key = None
    before = budget_of(context, user)
    if key:
        supported = await svc.coins.get(key, per_minute=before.per_minute)
    elif svc.coins.cached:
        supported = svc.coins.cached
    unknown = {}
    if supported is not None:
        known = set(supported)
        unknown = {c: suggestions(c, supported) for c in fresh if c not in known}
        fresh = [c for c in fresh if c in known]
    room = max(0, MAX_COINS - len(watched))
    limit_hit = fresh[room:]
    added = svc.repo.add_coins(user_id, fresh[:room])
    after = budget_of(context, user)
    # Say the interval when adding coins lengthened it (the budget covers more coins).
    raised = after if added and user.key_state == "valid" and (
        after.interval > before.interval or after.raised) else None
    text = texts.subscribe_result(
        added=added, already=already, unknown=unknown, malformed=malformed,
        has_key=user.key_state == "valid", unchecked=supported is None, raised=raised,
        total=MAX_COINS, limit_hit=limit_hit,
    )
    return text, closest_first(unknown, watched)


def closest_first(unknown: dict[str, list[str]], watched: list[str]) -> list[str]:
    """The suggestions as buttons, in the order the reply names them (closest match first)."""
    return list(dict.fromkeys(s for options in unknown.values() for s in options
                              if s not in watched))


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Add coins, or offer popular ones as buttons when called bare."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    if len(text) > MAX_ARGS_TEXT:
        await reply(update, context, texts.subscribe_result(
            added=[], already=[], unknown={}, malformed=[text[:30] + "…"], has_key=True,
            unchecked=False, raised=None, total=MAX_COINS))
        return
    if not text:
        await reply(update, context, texts.SUBSCRIBE_PICK,
                    keyboards.popular_coins(svc.repo.coins(user.id)))
        return
    parsed = parse_coins(text)
    answer, close = await _add(context, user.id, parsed.coins, parsed.malformed)
    await reply(update, context, answer, keyboards.suggestions(close))


async def subscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A coin button from the popular list or a suggestion."""
    query = update.callback_query
    await query.answer()
    svc = services(context)
    user = caller(update, context)
    coin = query.data.split(":", 1)[1]
    if coin == "done":
        coins = svc.repo.coins(user.id)
        await query.edit_message_text(
            f"Watching {', '.join(coins)}." if coins else "No coins picked — /subscribe BTC anytime.")
        return
    answer, _ = await _add(context, user.id, [coin], [])
    picker = query.message is not None and (query.message.text or "").startswith(
        texts.SUBSCRIBE_PICK)
    if not picker:                     # a suggestion under a reply: answer it on its own
        await reply(update, context, answer)
        return
    # One message for the whole pick: the picker itself says what was added.
    try:
        await query.edit_message_text(texts.SUBSCRIBE_PICK + "\n" + answer,
                                      reply_markup=keyboards.popular_coins(
                                          svc.repo.coins(user.id)))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remove coins, or all of them."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    if not text or len(text) > MAX_ARGS_TEXT:
        await reply(update, context, texts.UNSUBSCRIBE_USAGE)
        return
    if text.strip().lower() == "all":
        removed = svc.repo.remove_coins(user.id, None)
        await reply(update, context, texts.unsubscribe_result(removed, [], []))
        return
    parsed = parse_coins(text)
    removed = svc.repo.remove_coins(user.id, parsed.coins)
    not_watched = [c for c in parsed.coins if c not in removed] + parsed.malformed[:5]
    await reply(update, context,
                texts.unsubscribe_result(removed, not_watched, svc.repo.coins(user.id)))


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("subscribe", subscribe, filters=private),
        CommandHandler("unsubscribe", unsubscribe, filters=private),
        CallbackQueryHandler(subscribe_button, pattern=r"^sub:[A-Za-z0-9]{1,20}$"),
    ]
