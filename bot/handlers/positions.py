"""/position: declare, list and close the positions the guard watches (SPEC §16).

``/position SYM long|short ENTRY [stop PRICE] [tp PRICE]`` declares one position per coin;
``/position`` lists them with live P&L and phase; ``/position SYM close`` forgets one. The
same from buttons: "🛡 Guard a position" under an alert and in /settings starts a short
conversation (side by button, then the entry typed), "✖ Closed ETH" under advice forgets it.

Bad input (unknown coin, side, a non-number, a stop or take-profit on the wrong side, a price
that reads two ways) gets a reply saying what is accepted, and nothing is stored. A second
position on a coin is not stored until the user confirms the replacement with a button.
A declaration bumps the user's version (``Repository.save_position``), so a poll running
meanwhile drops its result rather than write the old position's state onto the new one.
"""

from __future__ import annotations

import itertools
import warnings
from datetime import datetime, timezone

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import (
    ApplicationHandlerStop, BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes,
    ConversationHandler, MessageHandler, filters,
)
from telegram.warnings import PTBUserWarning

from bot import guard_texts as gt
from bot import keyboards, texts
from bot.format import esc
from bot.handlers.common import MAX_ARGS_TEXT, args_text, budget_of, caller, reply
from bot.services import services
from core.coins import suggestions
from core.guard_prices import PriceNow, current_prices
from core.position_guard import Position, plan_gaps, validate_position
from core.position_input import (
    Close, Declare, ListAll, PositionInputError, Show, parse_position, resolve_all,
)
from core.snapshot import sections_of_path
from core.storage.crypto import KeyUnreadable
from core.timezones import tz_of
from core.users import User

MAX_POSITIONS = 20
SIDE, ENTRY = range(2)
DRAFT = "guard_draft"              # user_data: the conversation's coin and side
PENDING = "guard_pending"          # user_data: declarations waiting for "Replace it"
_tokens = itertools.count(1)


def _key(context: ContextTypes.DEFAULT_TYPE, user: User) -> str | None:
    if user.key_state != "valid":
        return None
    try:
        return services(context).repo.api_key(user.id)
    except KeyUnreadable:
        return None


def _refused_sections(user: User) -> set[str]:
    return {s for path in user.disabled_endpoints for s in sections_of_path(path)}


async def _prices(context: ContextTypes.DEFAULT_TYPE, user: User,
                  coins: list[str]) -> dict[str, PriceNow]:
    key = _key(context, user)
    if not key or not coins:
        return {}
    svc = services(context)
    return await current_prices(svc.builder, key, budget_of(context, user), coins, svc.clock())


# --- /position --------------------------------------------------------------------------------

async def position(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/position, /position SYM, /position SYM close, /position SYM long|short ENTRY …"""
    user = caller(update, context)
    text = args_text(update)
    if len(text) > MAX_ARGS_TEXT:
        await reply(update, context, gt.usage("That is far too long for a position."))
        return
    try:
        request = parse_position(text)
    except PositionInputError as exc:
        await reply(update, context, gt.usage(str(exc)))
        return
    if isinstance(request, ListAll):
        await reply(update, context, *await _list(context, user))
    elif isinstance(request, Show):
        if services(context).repo.position(user.id, request.coin) is None:
            await reply(update, context, gt.not_held(request.coin))
        else:
            await reply(update, context, *await _list(context, user, only=request.coin))
    elif isinstance(request, Close):
        await reply(update, context, _close(context, user, request.coin))
    else:
        await reply(update, context, *await _declare(context, user, request))


async def _list(context: ContextTypes.DEFAULT_TYPE, user: User, only: str | None = None):
    svc = services(context)
    held = svc.repo.positions(user.id)
    if only is not None:
        held = {c: g for c, g in held.items() if c == only}
    prices = await _prices(context, user, list(held))
    refused = _refused_sections(user)
    gaps = list(dict.fromkeys(gap for g in held.values()
                              for gap in plan_gaps(g.position, user.effective_plan, refused)))
    now = svc.clock()
    text = gt.positions_text([(g, prices.get(c)) for c, g in held.items()],
                             user.effective_plan.title if user.known_plan else None, gaps, now,
                             tz_of(user.timezone), priced=_key(context, user) is not None)
    markup = keyboards.positions_menu(list(held), [], back=False) if held else None
    return text, markup


def _close(context: ContextTypes.DEFAULT_TYPE, user: User, coin: str) -> str:
    repo = services(context).repo
    held = repo.position(user.id, coin)
    if held is None or not repo.close_position(user.id, coin):
        return gt.not_held(coin)
    return gt.closed(held.position)


async def _declare(context: ContextTypes.DEFAULT_TYPE, user: User, request: Declare):
    """Check a declaration and store it, or say why not: (reply, markup)."""
    svc = services(context)
    coin = request.coin
    key = _key(context, user)
    budget = budget_of(context, user)
    supported = (await svc.coins.get(key, per_minute=budget.per_minute) if key
                 else svc.coins.cached)
    if supported is not None and coin not in supported:
        close = suggestions(coin, supported)
        return gt.unknown_coin(coin, close), keyboards.suggestions(close)
    prices = await _prices(context, user, [coin]) if key else {}
    now_price = prices.get(coin)
    settled = resolve_all(request, now_price.price if now_price else None)
    if settled.ambiguous():
        return gt.ambiguous(settled.ambiguous()), None
    problem = validate_position(settled.side, settled.entry, settled.stop, settled.take_profit)
    if problem is not None:
        return gt.usage(problem[:1].upper() + problem[1:] + "."), None
    notes = [gt.read_as(name, value, getattr(settled, name), now_price.price)
             for name, value in request.ambiguous()]
    new = Position(coin, settled.side, settled.entry, settled.stop, settled.take_profit,
                   datetime.fromtimestamp(svc.clock(), timezone.utc))
    held = svc.repo.positions(user.id)
    if coin in held:
        token = str(next(_tokens))
        context.user_data.setdefault(PENDING, {})[token] = (new, notes)
        return gt.replace_question(held[coin], new), keyboards.replace_confirm(token)
    if coin not in held and len(held) >= MAX_POSITIONS:
        return gt.too_many(MAX_POSITIONS), None
    return _store(context, user, new, now_price, notes, replaced=coin in held), None


def _store(context: ContextTypes.DEFAULT_TYPE, user: User, new: Position,
           now_price: PriceNow | None, notes: list[str], *, replaced: bool) -> str:
    svc = services(context)
    before = budget_of(context, user)
    svc.repo.save_position(user.id, new)
    user = svc.repo.get_user(user.id)
    after = budget_of(context, user)
    notes = list(notes)
    if new.coin not in svc.repo.coins(user.id):
        notes.append(gt.polled_only(new.coin))
    if user.key_state != "valid":
        notes.append(gt.NO_KEY)
    elif svc.coins.cached is None:
        notes.append(gt.UNCHECKED)
    if after.interval > before.interval:
        notes.append(texts.budget_note(after))
    t = svc.repo.prefs(user.id).thresholds(new.coin)
    return gt.declared(new, now_price, lock_at=t["lock_at"], trail=t["trail"],
                       gaps=plan_gaps(new, user.effective_plan, _refused_sections(user)),
                       notes=notes, replaced=replaced, now=svc.clock(), tz=tz_of(user.timezone))


# --- buttons ----------------------------------------------------------------------------------

async def _edit(update: Update, text: str, markup=None) -> None:
    try:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def replace_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Replace it" / "Keep the current one" under the replace question, and "No, keep it"
    under the close question."""
    query = update.callback_query
    await query.answer()
    user = caller(update, context)
    _, action, token = query.data.split(":")
    pending = context.user_data.get(PENDING, {}).pop(token, None)
    if action == "keep":
        await _edit(update, gt.KEPT)
        return
    if pending is None:
        await _edit(update, gt.EXPIRED)
        return
    new, notes = pending
    svc = services(context)
    replaced = svc.repo.position(user.id, new.coin) is not None
    prices = await _prices(context, user, [new.coin])
    await _edit(update, _store(context, user, new, prices.get(new.coin), notes,
                               replaced=replaced))


async def close_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"✖ Closed ETH" (under advice, in the list): ask before forgetting."""
    query = update.callback_query
    await query.answer()
    user = caller(update, context)
    coin = query.data.split(":")[2]
    held = services(context).repo.position(user.id, coin)
    if held is None:
        await reply(update, context, gt.not_held(coin))
        return
    await reply(update, context, gt.close_question(held.position), keyboards.close_confirm(coin))


async def drop_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"Yes, forget ETH"."""
    query = update.callback_query
    await query.answer()
    user = caller(update, context)
    await _edit(update, _close(context, user, query.data.split(":")[2]))


async def list_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"🛡 Positions" under advice: the list as a new message."""
    await update.callback_query.answer()
    user = caller(update, context)
    await reply(update, context, *await _list(context, user))


async def menu_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """"🛡 Position guard" in /settings: the list, with Close and Guard buttons, in place."""
    await update.callback_query.answer()
    user = caller(update, context)
    text, _ = await _list(context, user)
    held = list(services(context).repo.positions(user.id))
    guardable = [c for c in services(context).repo.coins(user.id) if c not in held]
    text += ("\n\nTap a coin to guard a position on it, or send "
             + esc("/position ETH long 3150") + " for any coin.")
    await _edit(update, text, keyboards.positions_menu(held, guardable))


async def stale_side(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A side button pressed when no guard conversation waits for it (timed out, restart)."""
    await update.callback_query.answer()
    await _edit(update, gt.EXPIRED)


# --- the short conversation: side by button, then the entry typed ------------------------------

async def start_guard(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """"🛡 Guard a position" (an alert, /settings): ask for the side."""
    query = update.callback_query
    await query.answer()
    user = caller(update, context)
    coin = query.data.split(":")[2]
    context.user_data[DRAFT] = {"coin": coin}
    held = services(context).repo.position(user.id, coin)
    await reply(update, context, gt.ask_side(coin, held), keyboards.guard_sides())
    return SIDE


async def pick_side(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Long or Short pressed: ask for the entry."""
    query = update.callback_query
    await query.answer()
    draft = context.user_data.get(DRAFT) or {}
    if "coin" not in draft:
        await _edit(update, gt.EXPIRED)
        return ConversationHandler.END
    draft["side"] = query.data.split(":")[2]
    await _edit(update, gt.ask_entry(draft["coin"], draft["side"]))
    raise ApplicationHandlerStop(ENTRY)      # not also the expired-button answer of group 1


async def typed_side(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Text while we wait for the side: "long"/"short" count, anything else gets a reminder."""
    draft = context.user_data.get(DRAFT) or {}
    word = (update.effective_message.text or "").strip().lower()
    if word in ("long", "short") and "coin" in draft:
        draft["side"] = word
        await reply(update, context, gt.ask_entry(draft["coin"], word))
        raise ApplicationHandlerStop(ENTRY)
    await reply(update, context, gt.SIDE_PLEASE)
    raise ApplicationHandlerStop(SIDE)


async def receive_entry(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """The typed entry (with an optional stop and take-profit): declare, or ask again."""
    user = caller(update, context)
    draft = context.user_data.get(DRAFT) or {}
    text = (update.effective_message.text or "").strip()
    if "coin" not in draft or "side" not in draft:
        raise ApplicationHandlerStop(ConversationHandler.END)
    try:
        if len(text) > MAX_ARGS_TEXT:
            raise PositionInputError("That is far too long for a price.")
        request = parse_position(f"{draft['coin']} {draft['side']} {text}")
    except PositionInputError as exc:
        await reply(update, context, gt.entry_again(str(exc)))
        raise ApplicationHandlerStop(ENTRY)
    answer, markup = await _declare(context, user, request)
    await reply(update, context, answer, markup)
    context.user_data.pop(DRAFT, None)
    raise ApplicationHandlerStop(ConversationHandler.END)


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """/cancel while the guard waits for a side or an entry."""
    context.user_data.pop(DRAFT, None)
    await reply(update, context, gt.CANCELLED)
    raise ApplicationHandlerStop(ConversationHandler.END)


async def other_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Another command meanwhile: stop waiting and let that command run."""
    context.user_data.pop(DRAFT, None)
    return ConversationHandler.END


def conversation() -> ConversationHandler:
    """Registered in group 0 after /setkey's: a key message is never read as a price (the
    /setkey conversation comes first), and the entry reaches no other handler."""
    private = filters.ChatType.PRIVATE
    text = private & filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # One guard conversation per chat is what we want: PTB's note that button presses
        # are then tracked per chat, not per message, does not apply.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CallbackQueryHandler(start_guard, pattern=r"^pos:new:[A-Z0-9]{1,20}$")],
            states={
                SIDE: [CallbackQueryHandler(pick_side, pattern=r"^pos:side:(long|short)$"),
                       MessageHandler(text, typed_side)],
                ENTRY: [MessageHandler(text, receive_entry)],
            },
            fallbacks=[CommandHandler("cancel", cancel, filters=private),
                       MessageHandler(filters.COMMAND, other_command)],
            allow_reentry=True,
            conversation_timeout=600,
            name="guard",
        )


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("position", position, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(replace_button, pattern=r"^pos:(rep|keep):[0-9\-]{1,12}$"),
        CallbackQueryHandler(close_button, pattern=r"^pos:close:[A-Z0-9]{1,20}$"),
        CallbackQueryHandler(drop_button, pattern=r"^pos:drop:[A-Z0-9]{1,20}$"),
        CallbackQueryHandler(list_button, pattern=r"^pos:list$"),
        CallbackQueryHandler(menu_button, pattern=r"^pos:menu$"),
        CallbackQueryHandler(stale_side, pattern=r"^pos:side:(long|short)$"),
    ]
