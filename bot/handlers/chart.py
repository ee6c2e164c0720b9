"""/chart SYM [WINDOW] and the Chart button: a PNG of the coin with the user's thresholds.

The button's callback data is ``chart:SYM`` (an alert's Chart button: the 24 h chart) or
``chart:SYM:WINDOW`` (the window buttons under a chart). Data comes from the user's own key
at their plan's finest candles (``core.charts``); the picture is drawn in a worker process,
so the bot keeps answering everyone while it renders.
"""

from __future__ import annotations

import re
from concurrent.futures.process import BrokenProcessPool
from datetime import tzinfo

from telegram import InputFile, Update
from telegram.ext import (
    Application, BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters,
)

from bot import chart_texts as ct
from bot import texts
from bot.handlers.common import MAX_ARGS_TEXT, args_text, budget_of, caller
from bot.sender import send_html
from bot.services import services
from core.charts import (
    DEFAULT_WINDOW, BudgetBusy, ChartData, ChartService, ChartThresholds, ChartUnavailable,
    parse_window, resolution, signals_now,
)
from core.charts.model import MAP
from core.coinglass.errors import AuthError, PlanTooLow
from core.coins import parse_coins, suggestions
from core.plans import Plan
from core.signals.catalog import SIGNAL_INFO
from core.storage.crypto import KeyUnreadable
from core.storage.repo import User
from core.thresholds import ThresholdSet
from core.timezones import tz_of

CHARTS_KEY = "charts"


def charts(context: ContextTypes.DEFAULT_TYPE) -> ChartService:
    """The chart service (fetch cache, PNG cache, render worker), made on first use."""
    bot_data = context.application.bot_data
    service = bot_data.get(CHARTS_KEY)
    if service is None:
        svc = services(context)
        service = ChartService(svc.coinglass, clock=svc.clock)
        bot_data[CHARTS_KEY] = service
    return service


def close(app: Application) -> None:
    """Stop the render worker now (for ``post_shutdown``; unused, it stops after a minute)."""
    service = app.bot_data.pop(CHARTS_KEY, None)
    if service is not None:
        service.close()


def user_timezone(user: User) -> tzinfo:
    """The user's timezone (/timezone) for times on charts and in captions."""
    return tz_of(user.timezone)


async def _say(context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str) -> None:
    await send_html(context.bot, chat_id, text)


async def chart(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/chart SYM [WINDOW]: reply with the chart."""
    user = caller(update, context)
    chat_id = update.effective_chat.id
    plan = user.effective_plan
    text = args_text(update)
    words = text.split() if len(text) <= MAX_ARGS_TEXT else []
    if not 1 <= len(words) <= 2:
        await _say(context, chat_id, ct.usage(plan))
        return
    parsed = parse_coins(words[0])
    if len(parsed.coins) != 1 or parsed.malformed:
        await _say(context, chat_id, ct.usage(plan))
        return
    window = DEFAULT_WINDOW
    if len(words) == 2:
        window = parse_window(words[1])
        if window is None:
            await _say(context, chat_id, ct.unknown_window(words[1], plan))
            return
    await send_chart(context, chat_id, user, parsed.coins[0], window)


async def chart_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A Chart button (``chart:SYM[:WINDOW]``): send that chart to the chat."""
    query = update.callback_query
    await query.answer()
    match = re.match(ct.CALLBACK_PATTERN, query.data or "")
    if match is None:
        return
    user = caller(update, context)
    chat_id = query.message.chat.id if query.message else query.from_user.id
    await send_chart(context, chat_id, user, match.group(1), match.group(2) or DEFAULT_WINDOW)


async def send_chart(context: ContextTypes.DEFAULT_TYPE, chat_id: int, user: User, coin: str,
                     window: str) -> None:
    """Check what the chart needs, fetch, render off the loop, send the photo (or say why
    not, in one line: never a traceback, never an empty picture)."""
    svc = services(context)
    plan = user.effective_plan
    if window == MAP and plan < Plan.PROFESSIONAL:
        await _say(context, chat_id, ct.map_needs_professional(plan))
        return
    if user.key_state != "valid":
        await _say(context, chat_id, ct.NO_KEY if user.key_state == "none" else ct.KEY_REJECTED)
        return
    try:
        key = svc.repo.api_key(user.id)
    except KeyUnreadable:
        await _say(context, chat_id, texts.notice_text({"notice": "key_unreadable"}))
        return
    per_minute = budget_of(context, user).per_minute
    supported = await svc.coins.get(key, per_minute=per_minute)
    if supported is not None and coin not in set(supported):
        await _say(context, chat_id, ct.unknown_coin(coin, suggestions(coin, supported)))
        return
    # No "sending photo…" chat action: it is rate-limited like a message (1 per second per
    # chat, 30 per second overall), so it would delay this very photo by up to a second and,
    # in a burst of charts, everyone else's replies (BENCHMARKS.md).
    user_wide, per_coin = svc.repo.thresholds(user.id)
    thresholds = ThresholdSet.resolve(user_wide, per_coin.get(coin))
    tz = user_timezone(user)
    service = charts(context)
    try:
        if window == MAP:
            result = await service.liquidation_map(key, plan, coin, tz=tz, per_minute=per_minute)
        else:
            result = await service.chart(key, plan, coin, window,
                                         ChartThresholds.from_values(thresholds.values),
                                         tz=tz, per_minute=per_minute)
    except AuthError as exc:
        svc.repo.reject_key(user.id, str(exc))
        await _say(context, chat_id, ct.KEY_REJECTED)
        return
    except PlanTooLow:
        interval = "map" if window == MAP else resolution(plan, window).interval
        await _say(context, chat_id, ct.plan_refused(interval))
        return
    except BudgetBusy as exc:
        await _say(context, chat_id, ct.budget_busy(exc.retry_in))
        return
    except ChartUnavailable as exc:
        if exc.kind == "empty":
            await _say(context, chat_id, ct.coinglass_empty(coin))
        elif exc.kind == "rate_limited":
            await _say(context, chat_id, ct.budget_busy(60))
        else:
            await _say(context, chat_id, ct.coinglass_down(str(exc)))
        return
    except BrokenProcessPool:
        await _say(context, chat_id, ct.RENDER_FAILED)
        return
    now = svc.clock()
    if isinstance(result.data, ChartData):
        enabled = set(SIGNAL_INFO) - svc.repo.disabled_signals(user.id)
        evaluation = signals_now(result.data, thresholds, enabled)
        caption = ct.caption(result.data, evaluation, now, tz=tz, enabled=enabled)
        shown = result.data.resolution.window
    else:
        caption = ct.map_caption(result.data, plan, now, tz=tz)
        shown = MAP
    await context.bot.send_photo(
        chat_id, photo=InputFile(result.png, filename=f"{coin}-{shown}.png"), caption=caption,
        reply_markup=ct.chart_keyboard(coin, plan, shown), rate_limit_args=2)


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("chart", chart, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(chart_button, pattern=ct.CALLBACK_PATTERN),
    ]
