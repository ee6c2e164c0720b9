"""Your own rules, one-tap start links and the test alert (SPEC §17), end to end: the
production Application between the CoinGlass and Telegram simulators."""

from __future__ import annotations

import json

import pytest

from core.user_rules import MAX_RULES, Mode, Op, RuleSpec
from tests.e2e.conftest import KEYS, USER, Harness, bot_settings, run_bot
from tests.e2e.test_alerts import wait_polls, witness_polls
from tests.e2e.test_races import held_poll_dropped, hold_a_poll

PRO = KEYS["professional"]


def rule_alerts(h: Harness, user: int = USER) -> list:
    """Rule alerts as delivered: their first line starts with 🎯."""
    return [m for m in h.tg.messages(user) if m.text.startswith("🎯")]


def rule_rows(h: Harness, user: int = USER) -> list[dict]:
    """Every outbox row a rule fired (delivered or not)."""
    rows = h.services.repo.db.query(
        "SELECT status, payload FROM alerts WHERE user_id = ? AND kind = 'alert'", [user])
    return [dict(r, payload=json.loads(r["payload"])) for r in rows
            if "rule" in json.loads(r["payload"])]


async def ready(h: Harness, key: str = PRO, coins: str = "BTC") -> None:
    await h.say(f"/setkey {key}", contains="Key saved")
    await h.say(f"/subscribe {coins}", contains="Watching")


async def test_a_once_rule_fires_once_and_is_done(harness):
    h = harness
    await ready(h)
    level = round(h.cg.market.price("ETH") * 1.1)
    added = await h.say(f"/alert ETH price > {level}", contains="Rule #1")
    assert "first time it holds" in added.text and "not among your coins" in added.text
    await wait_polls(h, 2)
    assert rule_alerts(h) == []                           # below the level: nothing
    h.cg.market.set("ETH", price=level * 1.05)
    alert = await h.tg.wait_for_message(USER, "🎯", timeout=10)
    first = alert.text.split("\n")[0]
    assert first.startswith("🎯 ETH price ") and f"> {level:,}" in first
    assert first.endswith("(your rule #1, once — done)")
    assert [t for row in alert.buttons for t, _ in row][:2] == ["📈 Chart", "⚙️ Settings"]
    # It stays above, drops, and comes back: a once rule never fires again.
    await witness_polls(h, 2)
    h.cg.market.set("ETH", price=level * 0.9)
    await witness_polls(h, 2)
    h.cg.market.set("ETH", price=level * 1.2)
    await witness_polls(h, 3)
    assert len(rule_alerts(h)) == 1 and len(rule_rows(h)) == 1
    listed = await h.say("/alerts")
    assert "#1 ETH price" in listed.text and "fired" in listed.text and "done" in listed.text
    assert h.services.repo.polled_coins(USER) == ["BTC"]   # ETH is no longer watched


async def test_a_repeat_rule_fires_per_crossing_with_the_cooldown(harness):
    h = harness
    await ready(h)
    base = h.cg.market.price("ETH")
    level = round(base * 1.1)
    await h.say(f"/alert ETH price > {level} repeat", contains="each time")
    await wait_polls(h, 2)
    h.cg.market.set("ETH", price=level * 1.05)
    first = await h.tg.wait_for_message(USER, "🎯", timeout=10)
    assert "(your rule #1, repeat)" in first.text and "at most once every 60 min" in first.text
    # Back below and above again inside the cooldown (60 min): passed over.
    h.cg.market.set("ETH", price=level * 0.95)
    await wait_polls(h, 2)
    h.cg.market.set("ETH", price=level * 1.05)
    await wait_polls(h, 3)
    assert len(rule_alerts(h)) == 1
    # An hour later (the rule's last firing moved back, as time would), the next crossing.
    repo = h.services.repo
    repo.db.execute("UPDATE rules SET fired_at = fired_at - 3601 WHERE user_id = ?", [USER])
    h.cg.market.set("ETH", price=level * 0.95)
    await wait_polls(h, 2)
    h.cg.market.set("ETH", price=level * 1.06)
    second = await h.tg.wait_for_message(USER, "🎯", timeout=10, after=first.message_id)
    assert "(your rule #1, repeat)" in second.text
    # 🗑 Delete rule under the alert removes it (and its button).
    delete = next(data for row in second.buttons for text, data in row if "Delete rule" in text)
    await h.press(second, delete)
    await h.tg.wait_until(lambda: repo.rules(USER) == [], timeout=10)
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == second.message_id
                                and not any("Delete" in t for row in m.buttons for t, _ in row))


async def test_a_fired_rule_survives_a_restart_between_decision_and_delivery(tmp_path, tg, cg):
    settings = bot_settings(tg, cg, tmp_path / "db.sqlite")
    async with run_bot(settings) as app:
        h = Harness(tg, cg, settings, app)
        await ready(h)
        level = round(cg.market.price("ETH") * 1.1)
        await h.say(f"/alert ETH price > {level}", contains="Rule #1")
        await h.say(f"/alert ETH price > {level + 1} repeat", contains="Rule #2")
        await wait_polls(h, 2)
        tg.fail_next("sendMessage", error_code=502, times=10_000)   # Telegram unreachable
        cg.market.set("ETH", price=level * 1.05)
        await tg.wait_until(lambda: len(rule_rows(h)) == 2, timeout=15)
        assert [r["status"] for r in rule_rows(h)] == ["pending", "pending"]
        assert [r.state for r in h.services.repo.rules(USER)] == ["fired", "waiting"]
    assert rule_alerts(h) == []
    tg.clear_faults()
    async with run_bot(settings) as app:                  # a new process, the same database
        h = Harness(tg, cg, settings, app)
        await tg.wait_until(lambda: len(rule_alerts(h)) == 2, timeout=20)
        await wait_polls(h, 4)
        firsts = sorted(m.text.split("\n")[0] for m in rule_alerts(h))
        assert len(firsts) == 2 and "(your rule #1, once — done)" in firsts[0]
        assert "(your rule #2, repeat)" in firsts[1]
        assert [r["status"] for r in rule_rows(h)] == ["sent", "sent"]


async def test_a_rule_on_an_unsubscribed_coin_is_polled_and_budgeted(harness):
    h = harness
    hobbyist = KEYS["hobbyist"]
    await h.say(f"/setkey {hobbyist}", contains="Key saved")
    repo = h.services.repo
    assert repo.due_users(h.services.clock() + 3600) == []        # nothing to watch yet
    added = await h.say(f"/alert SOL price < {round(h.cg.market.price('SOL') * 0.5)}")
    assert "SOL is not among your coins, so I watch it for this rule" in added.text
    assert "⏱ Your Hobbyist plan allows 30 requests/min, so I poll your 1 coin every" in added.text
    await h.tg.wait_until(lambda: any(r.params.get("symbol") == "SOL" for r in h.cg.requests
                                      if r.key == hobbyist), timeout=15)
    assert repo.coins(USER) == [] and repo.polled_coins(USER) == ["SOL"]
    listing = await h.say("/list")
    assert "Coins: none" in listing.text and "also watched for rules: SOL" in listing.text
    # The budget counts the rule's coin like a subscribed one.
    await h.say("/subscribe BTC", contains="Watching BTC")
    budget = h.services.poller.budget(repo.get_user(USER), 2)
    status = await h.say("/status")
    assert "BTC, SOL" in status.text and f"every {budget.interval} s" in status.text


async def test_a_metric_the_plan_lacks_is_refused_and_a_higher_plan_takes_it(harness):
    h = harness
    await ready(h, KEYS["hobbyist"])
    repo = h.services.repo
    version = repo.get_user(USER).version
    refused = await h.say("/alert BTC netflow_1h < -100M")
    assert "netflow_1h needs the Startup plan or higher (you have Hobbyist)" in refused.text
    assert "Nothing was stored" in refused.text and "Metrics on your Hobbyist plan" in refused.text
    refused = await h.say("/alert BTC price_change_1h > 2")
    assert "price_change_4h is on yours" in refused.text
    assert repo.rules(USER) == [] and repo.get_user(USER).version == version
    await h.say(f"/setkey {KEYS['startup']}", contains="Key saved")
    await h.say("/alert BTC netflow_1h < -100M", contains="Rule #1")
    assert [r.spec.metric for r in repo.rules(USER)] == ["netflow_1h"]


@pytest.mark.parametrize("text,says", [
    ("/alert ETH volume > 5", "I don't know the figure volume"),
    ("/alert ETH pric > 4000", "Did you mean price?"),
    ("/alert ETH price near 4000", "near is not a comparison"),
    ("/alert ETH price = 4000", "use crosses"),
    ("/alert ETH price > lots", "price needs a number"),
    ("/alert ETH price > -5", "must be from 0"),
    ("/alert ETH price > 4000 sometimes", "sometimes is neither"),
    ("/alert ETHH price > 4000", "Unknown coin ETHH"),
    ("/alert <b>x</b> price > 1", "one coin symbol"),
    ("/alert del x", "Which rule?"),
    ("/alert del 7", "You have no rule #7"),
    ("/alert " + "9" * 1200, "far too long"),
])
async def test_bad_input_is_answered_with_what_is_accepted_and_changes_nothing(harness, text,
                                                                                 says):
    h = harness
    await ready(h)
    repo = h.services.repo
    version = repo.get_user(USER).version
    answer = await h.say(text)
    assert says in answer.text
    assert repo.rules(USER) == [] and repo.get_user(USER).version == version


async def test_the_fifty_first_rule_is_refused(harness):
    h = harness
    await ready(h)
    repo = h.services.repo
    for i in range(MAX_RULES):
        repo.add_rule(USER, RuleSpec("BTC", "price", Op.GT, 200_000.0 + i, Mode.ONCE))
    version = repo.get_user(USER).version
    answer = await h.say("/alert ETH price > 9000")
    assert "the most allowed is 50" in answer.text and "Nothing was stored" in answer.text
    assert "/alert del N" in answer.text
    assert len(repo.rules(USER)) == MAX_RULES and repo.get_user(USER).version == version
    gone = await h.say("/alert del 1 2")
    assert "Deleted rules #1, #2" in gone.text
    await h.say("/alert ETH price > 9000", contains="Rule #51")


async def test_an_ambiguous_value_is_asked_back_with_a_button_per_reading(harness):
    h = harness
    await ready(h)
    question = await h.say("/alert ETH price > 4,000")
    assert "4,000 could be 4 or 4000" in question.text
    choices = {text: data for row in question.buttons for text, data in row}
    assert set(choices) == {"ETH price > 4 (once)", "ETH price > 4,000 (once)"}
    assert h.services.repo.rules(USER) == []
    await h.press(question, choices["ETH price > 4,000 (once)"])
    await h.tg.wait_for_message(USER, "Rule #1", after=question.message_id)
    [rule] = h.services.repo.rules(USER)
    assert rule.spec.value == 4000.0
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == question.message_id
                                and not m.buttons)           # answered: its buttons go
    # Questions left open pile up at most five deep; an older one's buttons have expired.
    asked = [await h.say(f"/alert BTC price > 1,{n}00") for n in range(1, 7)]
    oldest = next(data for row in asked[0].buttons for _, data in row)
    await h.press(asked[0], oldest)
    await h.tg.wait_until(lambda: any("expired" in str(c.params)
                                      for c in h.tg.calls_to("answerCallbackQuery")))
    newest = next(data for row in asked[-1].buttons for _, data in row)
    await h.press(asked[-1], newest)
    await h.tg.wait_for_message(USER, "Rule #2", after=asked[-1].message_id)
    assert [r.spec.value for r in h.services.repo.rules(USER)] == [4000.0, 1.6]


async def test_a_deep_link_before_and_after_setkey(harness):
    h = harness
    repo = h.services.repo
    hello = await h.say("/start ETH_SOL")
    assert hello.text.startswith("👋 Welcome to perpwatch.")
    assert "I'll remember ETH, SOL" in hello.text and "/setkey" in hello.text
    assert repo.coins(USER) == ["ETH", "SOL"] and repo.due_users(1e12) == []
    await h.say(f"/setkey {PRO}", contains="Watching ETH, SOL")
    await h.tg.wait_until(lambda: {r.params.get("symbol") for r in h.cg.requests
                                   if r.key == PRO} >= {"ETH", "SOL"}, timeout=15)
    again = await h.say("/start BTC-ETH")
    assert again.text.startswith("👋 Welcome back.") and "Watching BTC" in again.text
    assert "Already watching ETH" in again.text and repo.coins(USER) == ["ETH", "SOL", "BTC"]
    unknown = await h.say("/start ETHH")
    assert "Unknown coin ETHH" in unknown.text and "Did you mean ETH" in unknown.text
    assert repo.coins(USER) == ["ETH", "SOL", "BTC"]
    odd = await h.say("/start ETH.SOL")
    assert "not a list of coins" in odd.text and repo.coins(USER) == ["ETH", "SOL", "BTC"]
    help_text = await h.say("/help")
    assert "t.me/perpwatch_test_bot?start=ETH_SOL" in help_text.text


async def test_the_test_alert_arrives_marked_through_the_outbox_with_working_buttons(harness):
    h = harness
    await ready(h, coins="ETH")
    await wait_polls(h, 1)
    menu = await h.say("/settings")
    await h.press(menu, "set:test")
    test = await h.tg.wait_for_message(USER, "TEST ALERT", after=menu.message_id)
    assert test.text.startswith("🧪 TEST ALERT · ETH — checking that alerts reach you")
    assert "Figures from your last poll" in test.text and "$" in test.text
    buttons = {text: data for row in test.buttons for text, data in row}
    assert {"🔎 Details", "📈 Chart", "⚙️ Settings"} <= set(buttons)
    def tests_sent() -> list[str]:
        return [r.status for r in h.services.repo.recent_alerts(USER) if r.payload.get("test")]

    await h.tg.wait_until(lambda: tests_sent() == ["sent"])    # an outbox row, delivered
    await h.press(test, buttons["🔎 Details"])
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == test.message_id
                                and m.text.startswith("🧪 TEST ALERT") and "Data as of" in m.text)
    await h.press(menu, "set:test")                        # pressed again at once: one is enough
    await h.tg.wait_until(lambda: any("already on its way" in str(c.params)
                                      for c in h.tg.calls_to("answerCallbackQuery")))
    assert tests_sent() == ["sent"]


async def test_a_test_alert_without_a_key_says_its_figures_are_made_up(harness):
    h = harness
    menu = await h.say("/settings")
    await h.press(menu, "set:test")
    test = await h.tg.wait_for_message(USER, "TEST ALERT", after=menu.message_id)
    assert test.text.startswith("🧪 TEST ALERT · BTC") and "Made-up figures" in test.text


async def test_deleting_a_rule_during_a_poll_drops_what_that_poll_decided(harness):
    h = harness
    await ready(h)
    level = round(h.cg.market.price("ETH") * 1.1)
    await h.say(f"/alert ETH price > {level}", contains="Rule #1")
    await wait_polls(h, 1)
    outcomes = await hold_a_poll(h, PRO)
    h.cg.market.set("ETH", price=level * 1.05)            # the held poll will see it
    await h.say("/alert del 1", contains="Deleted rule #1")
    await held_poll_dropped(h, outcomes)
    await witness_polls(h, 2)
    assert rule_rows(h) == [] and rule_alerts(h) == []


async def test_a_rule_added_during_a_poll_is_evaluated_by_the_next_one(harness):
    h = harness
    await ready(h)
    level = round(h.cg.market.price("ETH") * 0.9)
    await wait_polls(h, 1)
    outcomes = await hold_a_poll(h, PRO)
    await h.say(f"/alert ETH price > {level}", contains="Rule #1")      # already holds
    await held_poll_dropped(h, outcomes)
    await h.tg.wait_for_message(USER, "🎯", timeout=10)
    await wait_polls(h, 3)
    assert len(rule_rows(h)) == 1


async def test_forget_deletes_the_rules(harness):
    h = harness
    await ready(h)
    await h.say("/alert ETH price > 99999", contains="Rule #1")
    question = await h.say("/forget", contains="Delete everything")
    await h.press(question, "forget:yes")
    await h.tg.wait_until(lambda: h.services.repo.get_user(USER) is None)
    assert h.services.repo.db["rules"].count_where("user_id = ?", [USER]) == 0
