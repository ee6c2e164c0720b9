"""/chart and the Chart button through the real Application, both simulators and the render
worker process: what the user sees, and what it costs the key."""

from __future__ import annotations

import io
import time

from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.handlers.chart import CHARTS_KEY
from core.coinglass import paths
from sim.telegram import BotMessage
from tests.e2e.conftest import KEYS, USER, Harness

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HISTORY_PATHS = (paths.PRICE_HISTORY, paths.OI_AGGREGATED_HISTORY,
                 paths.FUNDING_OI_WEIGHT_HISTORY, paths.LIQUIDATION_AGGREGATED_HISTORY)


async def with_key(h: Harness, plan: str) -> None:
    await h.say(f"/setkey {KEYS[plan]}")
    await h.tg.wait_for_message(USER, "Key saved")


def photo_bytes(h: Harness, message: BotMessage) -> bytes:
    call = next(c for c in h.tg.calls_to("sendPhoto")
                if c.ok and c.result and c.result.get("message_id") == message.message_id)
    return call.params["photo"].data


async def ask_chart(h: Harness, text: str, timeout: float = 30.0) -> BotMessage:
    after = h.last_id()
    h.tg.user_sends(USER, text)
    return await h.tg.wait_for_message(USER, predicate=lambda m: m.photo, after=after,
                                       timeout=timeout)


def history_requests(h: Harness, key: str) -> int:
    return sum(h.cg.request_count(key, path) for path in HISTORY_PATHS)


async def test_chart_is_a_png_with_a_caption_and_window_buttons(harness):
    h = harness
    await with_key(h, "standard")
    message = await ask_chart(h, "/chart ETH")
    png = photo_bytes(h, message)
    assert png.startswith(PNG_SIGNATURE)
    image = Image.open(io.BytesIO(png))
    assert image.size == (1024, 1280)
    assert len(png) <= 200_000
    assert "ETH" in message.text and "24 h" in message.text and "15 min candles" in message.text
    assert "Standard plan" in message.text and "Data to" in message.text and "UTC" in message.text
    assert "/snapshot ETH" in message.text
    assert len(message.text) <= 1024
    data = [d for row in message.buttons for _, d in row]
    assert data == ["chart:ETH:6h", "chart:ETH:24h", "chart:ETH:3d", "chart:ETH:7d"]
    # one request per series at the plan's finest candles for 24 h
    assert history_requests(h, KEYS["standard"]) == 4


async def test_hobbyist_24h_gets_seven_days_of_4h_candles_not_an_error(harness):
    h = harness
    await with_key(h, "hobbyist")
    message = await ask_chart(h, "/chart ETH 24h")
    assert "Your plan's history is 4 h candles: here are 7 days." in message.text
    assert "7 days" in message.text and "4 h candles" in message.text
    assert h.cg.count_429(KEYS["hobbyist"]) == 0
    # the Hobbyist window buttons skip the windows that would draw the same 7 days
    assert [d for row in message.buttons for _, d in row] == ["chart:ETH:3d", "chart:ETH:7d"]


async def test_chart_asked_twice_within_a_minute_is_fetched_and_rendered_once(harness):
    h = harness
    await with_key(h, "startup")
    first = await ask_chart(h, "/chart SOL")
    requests = history_requests(h, KEYS["startup"])
    second = await ask_chart(h, "/chart sol 24h")
    assert history_requests(h, KEYS["startup"]) == requests == 4
    assert photo_bytes(h, first) == photo_bytes(h, second)
    assert h.app.bot_data[CHARTS_KEY].pngs.loads == 1


async def test_chart_button_on_an_alert_sends_the_24h_chart(harness):
    h = harness
    await with_key(h, "startup")
    # An alert as the alert redesign will send it: any message carrying chart:SYM.
    alert = await h.app.bot.send_message(
        USER, "🔴 ETH ▼ $180M longs liquidated in 1h",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("📈 Chart",
                                                                 callback_data="chart:ETH")]]))
    message = next(m for m in h.tg.messages(USER) if m.message_id == alert.message_id)
    after = h.last_id()
    await h.press(message, "chart:ETH")
    photo = await h.tg.wait_for_message(USER, predicate=lambda m: m.photo, after=after,
                                        timeout=30)
    assert "ETH" in photo.text and "24 h" in photo.text
    assert photo_bytes(h, photo).startswith(PNG_SIGNATURE)
    answers = [c for c in h.tg.calls_to("answerCallbackQuery") if c.ok]
    assert answers, "the button press was answered"
    # and a window button under the chart draws that window
    after = h.last_id()
    await h.press(photo, "chart:ETH:7d")
    week = await h.tg.wait_for_message(USER, predicate=lambda m: m.photo, after=after, timeout=30)
    assert "7 days" in week.text and "1 h candles" in week.text


async def test_the_bot_keeps_answering_while_charts_render(harness):
    h = harness
    await with_key(h, "standard")
    await ask_chart(h, "/chart BTC")              # the worker is up: measure steady state
    after = h.last_id()
    for coin in ("ETH", "SOL", "XRP", "DOGE"):
        h.tg.user_sends(USER, f"/chart {coin} 6h")
    # Another user's command is answered while the charts render. (The same user's /status
    # would rightly wait: one chat's updates are handled in order.)
    started = time.monotonic()
    await h.say("/status", contains="Key", timeout=10, user=USER + 1)
    answered_in = time.monotonic() - started
    assert answered_in < 2.0
    photos_before_status = [m for m in h.tg.messages(USER) if m.photo and m.message_id > after]
    assert len(photos_before_status) < 4, "/status waited for every chart"
    await h.tg.wait_until(lambda: len([m for m in h.tg.messages(USER)
                                       if m.photo and m.message_id > after]) == 4, timeout=60)


async def test_professional_map_and_its_refusal_on_lower_plans(harness):
    h = harness
    await with_key(h, "startup")
    reply = await h.say("/chart ETH map")
    assert "needs the Professional plan" in reply.text and "Startup" in reply.text
    assert h.cg.request_count(KEYS["startup"], paths.LIQUIDATION_AGGREGATED_MAP) == 0
    await with_key(h, "professional")
    message = await ask_chart(h, "/chart ETH map")
    assert "liquidation map" in message.text and "Biggest long cluster" in message.text
    assert Image.open(io.BytesIO(photo_bytes(h, message))).size == (1024, 1280)
    assert "chart:ETH:map" in [d for row in message.buttons for _, d in row]


async def test_bad_input_gets_one_plain_line_each(harness):
    h = harness
    reply = await h.say("/chart ETH")
    assert "/setkey" in reply.text                              # no key: how to set one
    await with_key(h, "startup")
    reply = await h.say("/chart")
    assert "Which coin?" in reply.text and "24h (default)" in reply.text
    reply = await h.say("/chart ETHH")
    assert "Unknown coin ETHH" in reply.text and "ETH" in reply.text.split("mean", 1)[1]
    reply = await h.say("/chart ETH 2w")
    assert "I don't know the window 2w" in reply.text
    for window in ("6h", "24h", "3d", "7d"):
        assert window in reply.text
    h.cg.inject_fault("http_503", key=KEYS["startup"], path="/api/futures/")
    reply = await h.say("/chart BTC 3d")
    assert "CoinGlass is not answering" in reply.text
    h.cg.clear_faults()
    assert not [m for m in h.tg.messages(USER) if m.photo]
    assert not [c for c in h.tg.calls_to("sendPhoto") if not c.ok]


async def test_a_series_coinglass_fails_is_a_gap_named_in_the_caption(harness):
    h = harness
    await with_key(h, "standard")
    h.cg.inject_fault("http_500", key=KEYS["standard"], path=paths.FUNDING_OI_WEIGHT_HISTORY)
    message = await ask_chart(h, "/chart ETH 3d")
    assert "Missing (left blank, not zero): funding: none (CoinGlass error)" in message.text
    assert photo_bytes(h, message).startswith(PNG_SIGNATURE)


async def test_chart_requests_stay_within_the_key_budget(harness):
    h = harness
    await with_key(h, "hobbyist")
    await h.say("/subscribe ETH BTC", contains="Watching")
    for window in ("3d", "7d"):
        for coin in ("ETH", "BTC", "SOL"):
            h.tg.user_sends(USER, f"/chart {coin} {window}")
    def answered() -> int:          # a picture, or a refusal for the key's budget
        return sum(1 for m in h.tg.messages(USER) if m.photo or "budget" in (m.text or ""))

    await h.tg.wait_until(lambda: answered() >= 6, timeout=90)     # every request is done
    assert h.cg.max_in_any_minute(KEYS["hobbyist"]) <= 30
    assert h.cg.count_429(KEYS["hobbyist"]) == 0
