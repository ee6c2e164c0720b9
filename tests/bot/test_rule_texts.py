"""What users read about their rules, start links and the test alert (no Telegram)."""

from __future__ import annotations

import pytest

from bot import alert_texts, keyboards, rule_texts, texts
from core.market import MarketSnapshot
from core.plans import Plan
from core.rule_alerts import FIRED, Rule, decide_rules
from core.sample_alert import MADE_UP, REAL, pick_coin, sample_alert_row
from core.storage.repo import OutboxItem
from core.user_rules import Mode, Op, RuleSpec
from tests.bot.test_texts import NOW, plain
from tests.core.signals.factories import funding, price, snap

ETH_4K = RuleSpec("ETH", "price", Op.GT, 4000.0, Mode.ONCE)
BTC_FUNDING = RuleSpec("BTC", "funding", Op.LT, -0.03, Mode.REPEAT)


def fired(spec: RuleSpec, snapshot: MarketSnapshot, *, number: int = 3,
          last: float | None = None) -> OutboxItem:
    """The outbox row the poll would queue for ``spec`` on ``snapshot``."""
    step = decide_rules([Rule(11, number, spec, last_value=last)], {spec.coin: snapshot}, NOW)
    [row] = step.alerts
    return OutboxItem(id=5, user_id=1, coin=row["coin"], kind="alert", level=row["level"],
                      payload=row["payload"], created_at=NOW, attempts=0,
                      data_time=row["data_time"])


def first_line(text: str) -> str:
    return plain(text).split("\n", 1)[0]


def test_a_once_rule_s_alert_leads_with_the_rule_and_the_value_now():
    item = fired(ETH_4K, snap("ETH", price=price(last=4012.0)), last=3990.0)
    text = texts.render_outbox(item, NOW)
    assert first_line(text) == "🎯 ETH price 4,012 > 4,000 (your rule #3, once — done)"
    assert "Was 3,990 at the poll before." in plain(text)
    assert "won't fire again" in text and "Not financial advice" in text
    assert len(text.split("\n")) <= 8


def test_a_repeat_rule_s_alert_says_when_it_can_fire_again():
    spec = BTC_FUNDING
    item = fired(spec, snap("BTC", funding=funding(-0.0412)), number=4)
    text = plain(texts.render_outbox(item, NOW))
    assert text.split("\n")[0] == "🎯 BTC funding per 8h -0.0412% < -0.03% (your rule #4, repeat)"
    assert "at most once every 60 min; /alert del 4 removes it" in text


def test_a_crossing_says_which_way():
    spec = RuleSpec("BTC", "price", Op.CROSSES, 100_000.0, Mode.ONCE)
    down = fired(spec, snap(price=price(last=99_500.0)), number=5, last=100_200.0)
    assert first_line(texts.render_outbox(down, NOW)) == (
        "🎯 BTC price 99,500 crossed 100,000 ▼ (your rule #5, once — done)")


def test_rule_alert_buttons_delete_only_for_repeat_rules():
    from bot.app import _alert_markup
    once = fired(ETH_4K, snap("ETH", price=price(last=4100.0)))
    repeat = fired(BTC_FUNDING, snap("BTC", funding=funding(-0.05)), number=4)
    data = lambda markup: [b.callback_data for row in markup.inline_keyboard for b in row]
    assert data(_alert_markup(once)) == ["chart:ETH", "set:open", "mute:ETH:1h", "mute:ETH:4h",
                                        "mute:ETH:day"]
    assert "rule:del:11" in data(_alert_markup(repeat))
    labels = [b.text for row in _alert_markup(repeat).inline_keyboard for b in row]
    assert "🗑 Delete rule #4" in labels
    muted = keyboards.with_mute_row(_alert_markup(repeat), "BTC", True)
    assert data(muted) == ["chart:BTC", "set:open", "rule:del:11", "mute:BTC:off"]
    assert "rule:del:11" not in data(keyboards.without_rule_delete(_alert_markup(repeat)))


def test_history_names_the_rule_and_the_test():
    item = fired(ETH_4K, snap("ETH", price=price(last=4100.0)))
    test = OutboxItem(id=6, user_id=1, coin="ETH", kind="alert", level=2, created_at=NOW,
                      attempts=0, payload=sample_alert_row("ETH", None, NOW)["payload"])
    text = plain(texts.history_text([item, test], NOW))
    assert "rule #3: ETH price > 4,000 (once)" in text and "🧪 test alert" in text


@pytest.mark.parametrize("snapshot,figures", [(None, MADE_UP), ("real", REAL)])
def test_the_test_alert_is_marked_on_its_first_line_brief_and_details(snapshot, figures):
    snapshot = snap("SOL", price=price(last=151.25)) if snapshot else None
    row = sample_alert_row("SOL", snapshot, NOW)
    assert row["payload"]["figures"] == figures
    item = OutboxItem(id=9, user_id=1, coin="SOL", kind="alert", level=row["level"],
                      payload=row["payload"], created_at=NOW, attempts=0)
    brief = texts.render_outbox(item, NOW)
    details = alert_texts.alert_details(item, NOW)
    for text in (brief, details):
        assert first_line(text).startswith("🧪 TEST ALERT · ") and "SOL" in first_line(text)
    if figures == MADE_UP:
        assert "Made-up figures" in brief and "$1,000.0" in brief
    else:
        assert "$151.25" in brief and "Figures from your last poll" in brief
        assert "Made-up" not in brief


def test_the_test_alert_s_coin():
    assert pick_coin(["ETH", "SOL"], ["ETH", "SOL", "BTC"]) == "ETH"
    assert pick_coin([], ["AVAX"]) == "AVAX"
    assert pick_coin([], []) == "BTC"


def test_rules_list_shows_numbers_states_and_rule_only_coins():
    rules = [Rule(1, 1, ETH_4K, last_value=3512.5),
             Rule(2, 2, BTC_FUNDING, fired_at=NOW - 600),
             Rule(3, 4, RuleSpec("SOL", "price", Op.LT, 100.0, Mode.ONCE), state=FIRED,
                  fired_at=NOW - 60)]
    text = plain(rule_texts.rules_list(rules, ["BTC"], NOW))
    assert "Your rules (3 of 50)" in text
    assert "#1 ETH price > 4,000 (once) — waiting · now 3,512.5" in text
    assert "#2 BTC funding per 8h < -0.03% (repeat) — waiting · last fired" in text
    assert "#4 SOL price < 100 (once) — fired" in text and "done" in text
    assert "Watched for rules only: ETH" in text           # SOL's rule is done
    assert "/alert del done" in text
    assert "Rules: 3 (2 waiting)" in plain(rule_texts.list_line(rules, ["BTC"]))


def test_usage_lists_the_plan_s_metrics_and_is_valid_html():
    text = rule_texts.usage(Plan.HOBBYIST)
    assert "netflow_1h" not in text and "price_change_4h" in text
    assert "&gt;" in text and " > " not in text.replace("&gt;", "")
    assert "netflow_1h" in rule_texts.usage(Plan.STARTUP)


def test_help_shows_the_start_link_with_the_bot_s_name():
    assert "t.me/perpwatch_bot?start=ETH_SOL" in texts.help_text(bot_username="perpwatch_bot")
    assert "t.me/&lt;bot&gt;?start=ETH_SOL" in texts.help_text()
    names = [name for name, _ in texts.COMMANDS]
    assert "alert" in names and "alerts" in names


def test_user_text_is_escaped():
    assert "&lt;b&gt;" in rule_texts.rule_refused("I don't know the figure <b>.")
    assert "&lt;" in rule_texts.start_link_bad("hi", "bad <payload>")


def test_settings_menu_offers_a_test_alert():
    from core.signals.model import Level
    data = [b.callback_data for row in keyboards.settings_main(Level.MEDIUM).inline_keyboard
            for b in row]
    assert "set:test" in data
