"""The position guard end to end (SPEC §16), through both simulators and the production bot.

A user declares a position; the market moves in the CoinGlass simulator; the advice arrives in
the Telegram simulator the way the user reads it, once, and the position's phase survives a
restart. Bad input stores nothing; a change made while a poll is held wins over that poll.
"""

from __future__ import annotations

import json
import re

from core.position_guard import round_tick
from tests.e2e.conftest import KEYS, USER, Harness, bot_settings, run_bot
from tests.e2e.test_alerts import triggered, wait_polls, witness_polls
from tests.e2e.test_polling import onboard
from tests.e2e.test_races import held_poll_dropped, hold_a_poll

PRO = KEYS["professional"]


def advice(h: Harness, coin: str, words: str, user: int = USER) -> list:
    """The guard's messages for ``coin`` whose first line contains ``words``."""
    return [m for m in h.tg.messages(user)
            if m.text.startswith(f"🛡 {coin} ") and words in m.text.split("\n", 1)[0]]


def guard_rows(h: Harness, coin: str, user: int = USER) -> list[dict]:
    rows = h.services.repo.db.query(
        "SELECT payload FROM alerts WHERE user_id = ? AND coin = ? AND kind = 'alert'",
        [user, coin])
    return [json.loads(r["payload"])["guard"] for r in rows
            if "guard" in json.loads(r["payload"])]


def first_number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return float(found.group(1).replace(",", ""))


async def test_a_long_in_a_long_liquidation_gets_early_exit_advice_once(harness):
    h = harness
    await onboard(h, PRO)
    await wait_polls(h, 1)
    entry = h.cg.market.price("ETH")
    declared = await h.say(f"/position ETH long {entry}", contains="Guarding")
    assert "It locks at +1.50 %" in declared.text and "Not financial advice" in declared.text
    h.cg.market.scenario("cascade", "ETH")        # OI −9 %, price −6 %: LONG_LIQUIDATION
    message = await h.tg.wait_for_message(
        USER, "🛡 ETH long: consider an early exit", timeout=15, after=declared.message_id)
    await wait_polls(h, 4)
    assert len(advice(h, "ETH", "consider an early exit")) == 1
    assert triggered(h, "ETH", "guard:early_exit") == 1
    text = message.text
    assert text.split("\n")[0] == ("🛡 ETH long: consider an early exit — longs are being "
                                   "closed out into a falling price")
    for part in ("LONG_LIQUIDATION", "1h and 4h OI", "on your Professional plan",
                 f"Your ETH long from {entry:,.2f}".replace(".00", ""), "EXIT",
                 "Not financial advice"):
        assert part in text, part
    buttons = [data for row in message.buttons for _, data in row]
    assert buttons == ["chart:ETH", "pos:list", "pos:close:ETH"]
    assert h.services.repo.position(USER, "ETH").state.phase.value == "EXIT"


async def test_a_cluster_under_the_stop_on_professional_gets_stop_advice_with_a_level(harness):
    h = harness
    # The map is read at its own pace (every 5 minutes): the cluster is there before polling.
    price = h.cg.market.price("ETH")
    h.cg.market.add_cluster("ETH", distance_pct=-1.5, usd=400e6)
    await onboard(h, PRO)
    # Only the scripted cluster counts: the calm map's levels stay below 300M, walls below 1B.
    await h.say("/set cluster_usd 300M", contains="cluster_usd")
    await h.say("/set wall_usd 1B", contains="wall_usd")
    level = round(price * 0.985, 2)
    stop = round(level * 1.004, 2)                  # 0.4 % above the cluster: a sweep takes it
    declared = await h.say(f"/position ETH long {price} stop {stop}", contains="Guarding")
    message = await h.tg.wait_for_message(USER, "🛡 ETH long: consider moving your stop below",
                                          timeout=30, after=declared.message_id)
    suggested = first_number(r"consider moving your stop below ([\d,.]+)", message.text)
    assert suggested == round_tick(level * 0.995, True) and suggested < level
    assert "$400.0M of long liquidations at" in message.text
    assert "a sweep would take it" in message.text
    assert "liquidation map (1d range)" in message.text and "Professional plan" in message.text
    row = next(r for r in guard_rows(h, "ETH") if r["advice"][0]["kind"] == "stop_near_cluster")
    assert row["advice"][0]["suggested_level"] == suggested and row["unavailable"] == []
    await wait_polls(h, 3)
    assert len(advice(h, "ETH", "consider moving your stop below")) == 1


async def test_a_hobbyist_is_told_once_what_the_plan_cannot_see(harness):
    h = harness
    await onboard(h, KEYS["hobbyist"])
    price = h.cg.market.price("ETH")
    declared = await h.say(f"/position ETH long {price} stop {price * 0.97:.2f}",
                           contains="Guarding")
    assert ("Your plan cannot see: liquidation clusters need Professional; order-book walls "
            "need Standard; Hyperliquid whales need Startup.") in declared.text
    listing = await h.say("/position", contains="Your positions")
    assert listing.text.count("liquidation clusters need Professional") == 1
    # a coin held but not subscribed counts against the budget, and the reply says so
    sol = await h.say(f"/position SOL long {h.cg.market.price('SOL')}", contains="Guarding")
    assert "I poll your 2 coins every 12 s" in sol.text
    assert h.services.poller.context(USER).budget.coins == 2


async def lock_eth(h: Harness) -> tuple[float, object]:
    """Declare an ETH long at the price, lift the price 2 %: the position locks."""
    await onboard(h, PRO)
    await wait_polls(h, 1)
    entry = h.cg.market.price("ETH")
    declared = await h.say(f"/position ETH long {entry}", contains="Guarding")
    h.cg.market.move("ETH", price_pct=2.0)          # past lock_at (1.5 %)
    message = await h.tg.wait_for_message(USER, "🛡 ETH long: consider raising your stop to",
                                          timeout=15, after=declared.message_id)
    return entry, message


async def test_price_past_lock_at_locks_the_position_and_trails_the_stop(harness):
    h = harness
    entry, message = await lock_eth(h)
    best = first_number(r"the best price since you declared it is ([\d,.]+)", message.text)
    trailed = first_number(r"consider raising your stop to ([\d,.]+)", message.text)
    assert best >= entry * 1.015 and abs(trailed - best * 0.99) < 0.01 and trailed > entry
    assert "The position is now LOCKED" in message.text
    stored = h.services.repo.position(USER, "ETH").state
    assert stored.phase.value == "LOCKED" and stored.trailed_stop >= trailed - 0.01
    listing = await h.say("/position", contains="Your positions")
    assert "LOCKED" in listing.text and "trailed stop" in listing.text
    # a further 1 % rise moves the trailed stop again (a step is half the trail): new advice
    h.cg.market.move("ETH", price_pct=1.0)
    moved = await h.tg.wait_for_message(USER, "🛡 ETH long: consider raising your stop to",
                                        timeout=15, after=message.message_id)
    assert "The trailed stop moved" in moved.text
    assert first_number(r"raising your stop to ([\d,.]+)", moved.text) > trailed


async def test_a_restart_keeps_positions_and_phases(tmp_path, tg, cg):
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        _, message = await lock_eth(h)
        await wait_polls(h, 1)
        before = h.services.repo.position(USER, "ETH")
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await wait_polls(h, 3)
        after = h.services.repo.position(USER, "ETH")
        assert after.position == before.position and after.state.phase.value == "LOCKED"
        assert after.state.best_price >= before.state.best_price       # kept, not restarted
        assert after.state.trailed_stop >= before.state.trailed_stop
        listing = await h.say("/position", contains="Your positions")
        assert "LOCKED" in listing.text
        # the lock was said once; a restart does not say it again
        assert len(advice(h, "ETH", "consider raising your stop")) == 1


async def test_a_position_on_an_unsubscribed_coin_is_polled_for_the_guard_only(harness):
    h = harness
    await onboard(h, PRO)                         # subscribes ETH only
    entry = h.cg.market.price("SOL")
    declared = await h.say(f"/position SOL long {entry}", contains="Guarding")
    assert "SOL is not in your /subscribe list" in declared.text
    await wait_polls(h, 1)
    h.cg.market.scenario("cascade", "SOL")
    await h.tg.wait_for_message(USER, "🛡 SOL long: consider an early exit", timeout=15,
                                after=declared.message_id)
    await wait_polls(h, 2)
    # no market alert for a coin the user did not subscribe: the guard's advice only
    assert not [m for m in h.tg.messages(USER) if m.text.startswith(("🔴 SOL", "🟡 SOL"))]
    await h.say("/position SOL close", contains="Stopped guarding")
    assert h.services.repo.position_only_coins(USER) == []


async def test_bad_input_is_refused_with_what_is_accepted_and_nothing_stored(harness):
    h = harness
    await onboard(h, KEYS["standard"])
    repo = h.services.repo
    for text, says in [
        ("/position ETHX long 3000", "Unknown coin ETHX"),
        ("/position ETH sideways 3000", "The side must be long or short"),
        ("/position ETH long abc", "The entry “abc” is not a price"),
        ("/position ETH long 3000 stop 3100", "a long's stop must be below the entry (3,000)"),
        ("/position ETH short 3000 tp 3100", "a short's take-profit must be below the entry"),
        ("/position ETH long", "The entry price is missing"),
        ("/position SOL long 1,500", "1,500 could be 1.5 or 1,500"),
        ("/position <b>x</b> long 1", "is not a coin symbol"),
    ]:
        reply = await h.say(text)
        assert says.lower() in reply.text.lower(), (text, reply.text)
        assert "Nothing was saved" in reply.text, text
    unknown = [m for m in h.tg.messages(USER) if "Unknown coin ETHX" in m.text][0]
    assert ("Did you mean" in unknown.text
            and any(d == "sub:ETH" for row in unknown.buttons for _, d in row))
    assert repo.positions(USER) == {}
    # an ambiguous price near the coin's price is read the way the price says, and said so
    price = h.cg.market.price("ETH")
    grouped = f"{int(price) // 1000},{int(price) % 1000:03d}"
    ok = await h.say(f"/position ETH long {grouped}", contains="Guarding")
    assert f"I read {grouped} as {grouped}" in ok.text


async def test_a_second_position_on_a_coin_asks_before_replacing(harness):
    h = harness
    await onboard(h, PRO)
    repo = h.services.repo
    price = round(h.cg.market.price("ETH"))
    await h.say(f"/position ETH long {price - 50} stop {price - 150}", contains="Guarding")
    first = repo.position(USER, "ETH").position     # (its state moves with the polls)
    short = f"/position ETH short {price} stop {price + 100}"
    question = await h.say(short, contains="replace it")
    assert repo.position(USER, "ETH").position == first
    keep = next(d for row in question.buttons for t, d in row if "Keep" in t)
    await h.press(question, keep)
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == question.message_id
                                and "nothing changed" in m.text)
    assert repo.position(USER, "ETH").position == first
    question = await h.say(short, contains="replace it")
    await h.press(question, next(d for row in question.buttons for t, d in row
                                 if "Replace" in t))
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == question.message_id
                                and "Replaced: now guarding" in m.text)
    now = repo.position(USER, "ETH")
    assert now.position.side == "short" and now.position.entry == price
    # a fresh start: nothing of the long's state carried over
    assert now.state.phase.value == "OPEN" and now.state.trailed_stop is None
    assert abs(now.state.best_price - price) / price < 0.01


async def test_guard_a_position_from_an_alert_asks_side_then_entry(harness):
    h = harness
    await onboard(h, PRO)
    await wait_polls(h, 1)
    h.cg.market.scenario("cascade", "ETH")
    alert = await h.tg.wait_for_message(USER, "🔴 ETH", timeout=15)
    await h.press(alert, "pos:new:ETH")
    question = await h.tg.wait_for_message(USER, "which side?", after=alert.message_id)
    await h.press(question, "pos:side:short")
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == question.message_id
                                and "send your entry price" in m.text)
    wrong = await h.say("soon")                              # not a price: asked again
    assert "is not a price" in wrong.text and "/cancel" in wrong.text
    done = await h.say("3000 stop 3,100", contains="Guarding")
    assert "ETH short from 3,000 · stop 3,100" in done.text
    stored = h.services.repo.position(USER, "ETH").position
    assert (stored.side, stored.entry, stored.stop) == ("short", 3000.0, 3100.0)
    # the conversation is over: plain text gets the usual hint again
    hint = await h.say("3200")
    assert "/help" in hint.text


async def test_cancel_leaves_the_guard_conversation_and_saves_nothing(harness):
    h = harness
    await onboard(h, PRO)
    menu = await h.say("/settings", contains="")
    await h.press(menu, "pos:menu")
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == menu.message_id
                                and "Tap a coin to guard" in m.text)
    menu = h.tg.message(USER, menu.message_id)
    assert any(d == "pos:new:ETH" for row in menu.buttons for _, d in row)
    await h.press(menu, "pos:new:ETH")
    question = await h.tg.wait_for_message(USER, "which side?", after=menu.message_id)
    await h.press(question, "pos:side:long")
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == question.message_id
                                and "send your entry price" in m.text)
    cancelled = await h.say("/cancel")
    assert "no position was saved" in cancelled.text
    assert h.services.repo.positions(USER) == {}
    again = await h.say("/cancel")
    assert "Nothing to cancel" in again.text
    # asked again, cancelled before the side: that question's buttons say they expired
    await h.press(menu, "pos:new:ETH")
    question = await h.tg.wait_for_message(USER, "which side?", after=again.message_id)
    await h.say("/cancel", contains="no position was saved")
    await h.press(question, "pos:side:long")
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == question.message_id
                                and "expired" in m.text)
    assert h.services.repo.positions(USER) == {}


async def test_closing_from_the_advice_asks_then_forgets(harness):
    h = harness
    await onboard(h, PRO)
    await wait_polls(h, 1)
    await h.say(f"/position ETH long {h.cg.market.price('ETH')}", contains="Guarding")
    h.cg.market.scenario("cascade", "ETH")
    message = await h.tg.wait_for_message(USER, "🛡 ETH long: consider an early exit",
                                          timeout=15)
    await h.press(message, "pos:close:ETH")
    question = await h.tg.wait_for_message(USER, "Stop guarding your", after=message.message_id)
    await h.press(question, "pos:drop:ETH")
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == question.message_id
                                and "Stopped guarding" in m.text)
    repo = h.services.repo
    assert repo.positions(USER) == {}
    assert not [k for k in repo.alert_states(USER) if k[1].startswith("guard:")]


async def test_closing_a_position_while_a_poll_is_held_wins(harness):
    h = harness
    await onboard(h, PRO)
    await wait_polls(h, 1)
    await h.say(f"/position ETH long {h.cg.market.price('ETH')}", contains="Guarding")
    await wait_polls(h, 1)
    h.cg.market.scenario("cascade", "ETH")          # the held poll would advise an early exit
    outcomes = await hold_a_poll(h, PRO)
    await h.say("/position ETH close", contains="Stopped guarding")
    short_entry = h.cg.market.price("ETH")
    await h.say(f"/position ETH short {short_entry}", contains="Guarding")
    await held_poll_dropped(h, outcomes)
    await wait_polls(h, 2)
    assert [r for r in guard_rows(h, "ETH") if r["side"] == "long"] == []
    assert advice(h, "ETH long", "") == []
    guarded = h.services.repo.position(USER, "ETH")
    assert guarded.position.side == "short" and guarded.position.entry == short_entry


async def test_forget_deletes_positions(harness):
    h = harness
    await onboard(h, PRO)
    await h.say("/position ETH long 3000", contains="Guarding")
    question = await h.say("/forget", contains="Delete everything")
    await h.press(question, "forget:yes")
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == question.message_id
                                and "Done" in m.text)
    assert list(h.services.repo.db.query("SELECT * FROM positions")) == []
    await witness_polls(h, 1)
