"""Threshold preview end to end: a change answers how many alerts it would have given over the
last 7 days, replayed from the CoinGlass simulator's history, whose past holds three scripted
long-liquidation episodes (20M, 60M, 100M), so the counts are known."""

from __future__ import annotations

import re
import time

import pytest

from core.coinglass import paths as p
from core.replay_history import candles_for
from tests.e2e.conftest import KEYS, USER, Harness
from tests.e2e.test_alerts import onboard, wait_polls

DAY = 86400.0
LIQ = p.LIQUIDATION_AGGREGATED_HISTORY
HISTORY_PATHS = (p.PRICE_HISTORY, p.OI_AGGREGATED_HISTORY, p.FUNDING_OI_WEIGHT_HISTORY, LIQ,
                 p.GLOBAL_LONG_SHORT_HISTORY, p.TOP_LONG_SHORT_ACCOUNT_HISTORY,
                 p.TAKER_AGGREGATED_HISTORY)


@pytest.fixture
def episodes(cg) -> None:
    now = cg.market.now()
    for days_ago, usd in ((5, 20e6), (3, 60e6), (1, 100e6)):
        cg.market.script_history("ETH", now - days_ago * DAY - 600, liquidation_long_usd=usd)


REPLAY_LIMITS = {str(candles_for(r) + 1) for r in ("1h", "4h")}


def history_requests(h: Harness, key: str, path: str | None = None) -> int:
    """History requests of previews (polling reads a few candles of some series too)."""
    return sum(1 for r in h.cg.requests if r.key == key and r.path in HISTORY_PATHS
               and (path is None or r.path == path) and r.params.get("limit") in REPLAY_LIMITS)


async def previewed(h: Harness, message, pattern: str, timeout: float = 15.0):
    """The message once its text matches ``pattern`` (now, or after the edit that brings it)."""
    return await h.tg.wait_for_message(
        USER, predicate=lambda m: m.message_id == message.message_id
        and re.search(pattern, m.text) is not None, timeout=timeout, after=message.message_id - 1)


async def test_set_answers_with_the_count_beside_the_old_one(harness, episodes):
    h = harness
    await onboard(h, plan="standard")
    reply = await h.say("/set liquidation_usd 30M", contains="Liquidation")
    reply = await previewed(h, reply, "alerts in 7 days")
    # 60M and 100M are HIGH at 50M; the 20M episode passes 30M's MEDIUM line (half of it).
    assert "liquidation_usd 30M → 3 alerts in 7 days on ETH (at 50M: 2)" in reply.text
    assert history_requests(h, KEYS["standard"]) == 1           # one series, one request
    again = await h.say("/set liquidation_usd 150M", contains="Liquidation")
    again = await previewed(h, again, "in 7 days")
    assert "liquidation_usd 150M → 1 alert in 7 days on ETH (at 30M: 3)" in again.text
    assert history_requests(h, KEYS["standard"]) == 1           # cached for the hour
    back = await h.say("/set liquidation_usd default", contains="default")
    back = await previewed(h, back, "in 7 days")
    assert "liquidation_usd 50M → 2 alerts in 7 days on ETH (at 150M: 1)" in back.text


async def test_hobbyist_replays_four_hour_candles_and_says_so(harness, episodes):
    h = harness
    await onboard(h, plan="hobbyist")
    first = await h.say("/set liquidation_usd 100M", contains="Liquidation")
    await previewed(h, first, "in 7 days", timeout=40)
    reply = await h.say("/set liquidation_usd 200M", contains="Liquidation")
    reply = await previewed(h, reply, "in 7 days", timeout=40)
    # Four hours of calm liquidations ride on each episode: at 100M the 60M and 100M totals
    # pass the 50M MEDIUM line; at 200M only 100M passes 100M.
    assert "liquidation_usd 200M → 1 alert in 7 days on ETH (at 100M: 2)" in reply.text
    assert "4h candles" in reply.text and "higher than live alerts" in reply.text
    intervals = {r.params.get("interval") for r in h.cg.requests if r.path == LIQ}
    assert intervals == {"4h"}


async def test_a_short_budget_answers_at_once_and_edits_the_reply_later(harness, episodes):
    h = harness
    await onboard(h, plan="standard")
    await wait_polls(h, 1)
    key = KEYS["standard"]
    # CoinGlass answers the next request "too many" and asks for 4 s of rest.
    h.cg.inject_fault("http_429", key=key, times=1, seconds=4)
    limiter = h.services.coinglass.limiters.peek(key)
    await h.tg.wait_until(lambda: limiter.blocked_for > 2.5, timeout=10)
    started = time.monotonic()
    reply = await h.say("/set liquidation_usd 30M", contains="Liquidation")
    first_text = reply.text
    assert time.monotonic() - started < 2.0                     # not held up by the wait
    assert "Preview in a moment" in first_text and "busy with polling" in first_text
    assert history_requests(h, key) == 0
    done = await previewed(h, reply, "alerts in 7 days", timeout=20)
    assert "liquidation_usd 30M → 3 alerts in 7 days on ETH (at 50M: 2)" in done.text
    assert "Preview in a moment" not in done.text
    replies = [m for m in h.tg.messages(USER) if m.message_id >= reply.message_id]
    assert len(replies) == 1                                     # edited in place
    assert h.cg.count_429(key) == 1


async def tap(h: Harness, menu, data: str, then: str) -> None:
    """Press ``data`` on the menu and wait until it offers the button ``then``."""
    await h.press(menu, data)

    def offers() -> bool:
        shown = h.tg.message(USER, menu.message_id)
        return any(d == then for row in shown.buttons for _, d in row)

    await h.tg.wait_until(offers, timeout=15)


async def test_menu_steps_and_presets_carry_the_preview(harness, episodes):
    h = harness
    await onboard(h, plan="standard")
    menu = await h.say("/settings", contains="Settings")
    await tap(h, menu, "set:th", "set:th:liquidation_usd")
    await tap(h, menu, "set:th:liquidation_usd", "set:th:liquidation_usd:-")
    await h.press(menu, "set:th:liquidation_usd:-")               # 50M → 33M
    shown = await previewed(h, menu, r"liquidation_usd 33M → \d+ alerts? in 7 days")
    assert "liquidation_usd 33M → 3 alerts in 7 days on ETH (at 50M: 2)" in shown.text
    assert [row[-1][1] for row in shown.buttons][-1] == "set:th"  # the menu is still there
    # Two quick presses: the screen ends on the last value, and the history is fetched once.
    await h.press(menu, "set:th:liquidation_usd:+")
    await h.press(menu, "set:th:liquidation_usd:+")
    shown = await previewed(h, menu, r"liquidation_usd 75M → \d+ alerts? in 7 days")
    assert "(at 50M: 2)" in shown.text
    assert history_requests(h, KEYS["standard"], LIQ) == 1
    await tap(h, menu, "set:th", "set:main")
    await tap(h, menu, "set:main", "set:pre")
    await tap(h, menu, "set:pre", "set:pre:aggressive")
    await tap(h, menu, "set:pre:aggressive", "set:apply:aggressive")
    await h.press(menu, "set:apply:aggressive")
    shown = await previewed(h, menu, r"preset aggressive → \d+ alerts? in 7 days on ETH "
                                     r"\(before: \d+\)", timeout=30)
    assert "Preset aggressive applied" in shown.text
    # A preset tunes every signal: seven series, of which liquidations were cached already, so
    # six new requests (the cap per coin) and nothing left out.
    assert "Not counted" not in shown.text
    assert history_requests(h, KEYS["standard"]) == 1 + 6


async def test_bad_input_changes_nothing_and_fetches_nothing(harness, episodes):
    h = harness
    await onboard(h, plan="standard")
    for text, says in (("/set liquidation_usd abc", "liquidation_usd"),
                       ("/set oi_change 1,500", "could be"),
                       ("/set liquidation_usd -5", "liquidation_usd"),
                       ("/set liquidatoin_usd 30M", "Did you mean"),
                       ("/set SOL liquidation_usd 30M", "SOL")):
        answer = await h.say(text, contains=says)
        assert "in 7 days" not in answer.text and "Preview" not in answer.text
    assert h.services.repo.thresholds(USER) == ({}, {})
    assert history_requests(h, KEYS["standard"]) == 0


async def test_live_only_thresholds_say_why_they_have_no_preview(harness):
    h = harness
    await onboard(h, plan="standard")
    reply = await h.say("/set wall_usd 10M", contains="No preview")
    assert "no history to replay: order-book walls are a live view of the book" in reply.text
    assert history_requests(h, KEYS["standard"]) == 0


async def test_a_late_preview_never_overwrites_a_newer_screen(harness, episodes):
    h = harness
    await onboard(h, plan="standard")
    await wait_polls(h, 1)
    menu = await h.say("/settings", contains="Settings")
    await tap(h, menu, "set:th", "set:th:liquidation_usd")
    await tap(h, menu, "set:th:liquidation_usd", "set:th:liquidation_usd:-")
    key = KEYS["standard"]
    h.cg.inject_fault("http_429", key=key, times=1, seconds=4)
    limiter = h.services.coinglass.limiters.peek(key)
    await h.tg.wait_until(lambda: limiter.blocked_for > 2.5, timeout=10)
    await h.press(menu, "set:th:liquidation_usd:-")
    await previewed(h, menu, "Preview in a moment")
    await tap(h, menu, "set:th", "set:th:liquidation_usd")     # on to another screen meanwhile
    outcomes = h.app.bot_data["outcomes"]
    await h.tg.wait_until(lambda: history_requests(h, key) == 1 and not outcomes.edits,
                          timeout=20)                          # the preview ran and finished
    shown = h.tg.message(USER, menu.message_id)
    assert "in 7 days" not in shown.text and "Preview in a moment" not in shown.text
    assert "Thresholds" in shown.text
