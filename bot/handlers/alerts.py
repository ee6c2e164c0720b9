"""What a user does with an alert: Details in place, mute its coin (button or /mute), and
/resume SYM to undo a mute. Settings from an alert opens the menu as a new message."""

from __future__ import annotations

from datetime import datetime, timedelta

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import alert_texts, guard_texts, keyboards, rule_texts, texts
from bot.handlers.common import MAX_ARGS_TEXT, args_text, caller, reply
from bot.services import services
from core.coins import parse_coins
from core.durations import DurationError, parse_duration
from core.timezones import tz_of

DEFAULT_MUTE_SECONDS = 3600
MORNING_HOUR = 7                     # "till tomorrow" ends at 07:00 in the user's zone
NIGHT_ENDS_HOUR = 4                  # before 04:00 the night is not over: "tomorrow" is 07:00


def tomorrow_morning(now: float, timezone: str | None) -> float:
    """07:00 after the coming night in the user's zone (the end of "till tomorrow"): tomorrow's,
    or this morning's when it is pressed after midnight, before ``NIGHT_ENDS_HOUR``."""
    tz = tz_of(timezone)
    local = datetime.fromtimestamp(now, tz)
    day = local if local.hour < NIGHT_ENDS_HOUR else local + timedelta(days=1)
    morning = day.replace(hour=MORNING_HOUR, minute=0, second=0, microsecond=0)
    return morning.timestamp()


async def toggle_details(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Details ⇄ Less on an alert: the same message, edited in place."""
    query = update.callback_query
    await query.answer()
    svc = services(context)
    user = caller(update, context)
    _, action, raw_id = query.data.split(":")
    item = svc.repo.outbox_item(user.id, int(raw_id))
    if item is None:
        await query.answer(texts.ALERT_GONE, show_alert=True)
        return
    now = svc.clock()
    tz = tz_of(user.timezone)
    expanded = action == "more"
    body = (alert_texts.alert_details(item, now, tz) if expanded else
            rule_texts.brief(item, now, tz) or alert_texts.alert_brief(item, now, tz))
    muted = svc.repo.mutes(user.id).get(item.coin or "", 0.0) > now
    try:
        await query.edit_message_text(body, reply_markup=keyboards.alert_buttons(
            item.id, item.coin or "", expanded=expanded, muted=muted))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


async def open_alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A number under /history: that alert in full, as a new message with its buttons."""
    query = update.callback_query
    await query.answer()
    svc = services(context)
    user = caller(update, context)
    item = svc.repo.outbox_item(user.id, int(query.data.split(":")[2]))
    if item is None or item.kind != "alert":
        await reply(update, context, texts.ALERT_GONE)
        return
    now = svc.clock()
    if guard_texts.is_advice(item):
        await reply(update, context, guard_texts.advice_text(item, now, tz_of(user.timezone)),
                    keyboards.advice_buttons(item.coin or ""))
        return
    muted = svc.repo.mutes(user.id).get(item.coin or "", 0.0) > now
    await reply(update, context, alert_texts.alert_details(item, now, tz_of(user.timezone)),
                keyboards.alert_buttons(item.id, item.coin or "", expanded=True, muted=muted))


async def mute_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🔕 1 h / 4 h / till tomorrow, or 🔔 Unmute, under an alert."""
    query = update.callback_query
    svc = services(context)
    user = caller(update, context)
    _, coin, choice = query.data.split(":")
    now = svc.clock()
    if choice == "off":
        svc.repo.unmute(user.id, coin)
        note = f"{coin} unmuted"
        muted = False
    else:
        until = (now + {"1h": 3600, "4h": 4 * 3600}[choice] if choice != "day"
                 else tomorrow_morning(now, user.timezone))
        svc.repo.mute(user.id, coin, until)
        note = f"{coin} muted until {texts.plain_when(until, now, tz_of(user.timezone))}"
        muted = True
    await query.answer(note)
    message = query.message
    if message is not None and message.reply_markup is not None:
        toggle = message.reply_markup.inline_keyboard[0][0].callback_data or ""
        parts = toggle.split(":")
        if len(parts) == 3 and parts[0] == "al":
            expanded = parts[1] == "less"
            try:
                await query.edit_message_reply_markup(keyboards.alert_buttons(
                    int(parts[2]), coin, expanded=expanded, muted=muted))
            except BadRequest:
                pass        # unchanged markup
        else:               # a rule's alert: its own buttons, the mute row redrawn
            try:
                await query.edit_message_reply_markup(
                    keyboards.with_mute_row(message.reply_markup, coin, muted))
            except BadRequest:
                pass


async def mute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mute SYM [DURATION]: silence one coin (1 h by default); /mute alone lists mutes."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    now = svc.clock()
    tz = tz_of(user.timezone)
    words = text.split() if len(text) <= MAX_ARGS_TEXT else []
    if not words:
        active = {c: u for c, u in svc.repo.mutes(user.id).items() if u > now}
        await reply(update, context, texts.mutes_text(active, now, tz))
        return
    parsed = parse_coins(words[0])
    if len(parsed.coins) != 1 or parsed.malformed or len(words) > 3:
        await reply(update, context, texts.MUTE_USAGE)
        return
    coin = parsed.coins[0]
    if coin not in svc.repo.polled_coins(user.id):     # subscribed, or watched for a rule
        await reply(update, context, texts.coin_not_watched(coin))
        return
    rest = " ".join(words[1:]).lower()
    if not rest:
        until = now + DEFAULT_MUTE_SECONDS
    elif rest in ("tomorrow", "till tomorrow", "until tomorrow"):
        until = tomorrow_morning(now, user.timezone)
    else:
        try:
            until = now + parse_duration(rest, minimum=60, maximum=30 * 86400)
        except DurationError as exc:
            await reply(update, context, texts.mute_bad_duration(str(exc)))
            return
    svc.repo.mute(user.id, coin, until)
    await reply(update, context, texts.muted(coin, until, now, tz))


async def open_settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """⚙️ under an alert: the settings menu as a new message (the alert stays)."""
    from bot.handlers.settings import settings
    await update.callback_query.answer()
    await settings(update, context)


def handlers() -> list[BaseHandler]:
    return [
        CallbackQueryHandler(toggle_details, pattern=r"^al:(more|less):\d{1,12}$"),
        CallbackQueryHandler(open_alert, pattern=r"^al:open:\d{1,12}$"),
        CallbackQueryHandler(mute_button, pattern=r"^mute:[A-Z0-9]{1,20}:(1h|4h|day|off)$"),
        CallbackQueryHandler(open_settings, pattern=r"^set:open$"),
        CommandHandler("mute", mute, filters=filters.ChatType.PRIVATE),
    ]
