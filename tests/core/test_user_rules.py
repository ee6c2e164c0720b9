"""The user's own alert rules: reading them, reading their figure, deciding when they fire."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from core import market
from core.plans import Plan
from core.user_rules import (
    ALIASES, MAX_RULES, METRICS, AmbiguousRule, Metric, Mode, Op, RuleError, RuleSpec,
    ensure_room, evaluate_rule, format_price, format_usd, metrics_for, parse_rule, read_metric,
    usage,
)
from core.market import LiquidationOrdersSection
from tests.core.signals.factories import (
    balances, dominance, liquidations, netflow, open_interest, price, ratio, snap, taker,
)

H, S, ST, P = Plan.HOBBYIST, Plan.STARTUP, Plan.STANDARD, Plan.PROFESSIONAL
ONCE, REPEAT = Mode.ONCE, Mode.REPEAT


def rule(coin, metric, op, value, mode):
    return RuleSpec(coin, metric, Op(op), value, mode)


# --- parsing -----------------------------------------------------------------------------

@pytest.mark.parametrize("text,plan,expected", [
    ("ETH price > 4000", H, rule("ETH", "price", ">", 4000.0, ONCE)),
    ("BTC funding < -0.03 repeat", H, rule("BTC", "funding", "<", -0.03, REPEAT)),
    ("eth price above 4k", H, rule("ETH", "price", ">", 4000.0, ONCE)),
    ("SOL liq_long_1h >= 50M", H, rule("SOL", "liq_long_1h", ">=", 5e7, REPEAT)),
    ("BTC price crosses 100000", H, rule("BTC", "price", "crosses", 1e5, ONCE)),
    ("BTC price crosses 100000 repeat", H, rule("BTC", "price", "crosses", 1e5, REPEAT)),
    ("BTC funding > 0.05 once", H, rule("BTC", "funding", ">", 0.05, ONCE)),
    ("btc price below 90,000.50", H, rule("BTC", "price", "<", 90000.5, ONCE)),
    ("ETH price>=4k", H, rule("ETH", "price", ">=", 4000.0, ONCE)),
    ("ETH price<=3500", H, rule("ETH", "price", "<=", 3500.0, ONCE)),
    ("ETH price ≥ 4000", H, rule("ETH", "price", ">=", 4000.0, ONCE)),
    ("ETH price ≤ 3,5k", H, rule("ETH", "price", "<=", 3500.0, ONCE)),
    ("ETH price => 4000", H, rule("ETH", "price", ">=", 4000.0, ONCE)),
    ("ETH price over 4000", H, rule("ETH", "price", ">", 4000.0, ONCE)),
    ("ETH price under 3000", H, rule("ETH", "price", "<", 3000.0, ONCE)),
    ("ETH > 4000", H, rule("ETH", "price", ">", 4000.0, ONCE)),
    ("$eth PRICE > 4000 REPEAT", H, rule("ETH", "price", ">", 4000.0, REPEAT)),
    ("ETHUSDT price > 4000", H, rule("ETH", "price", ">", 4000.0, ONCE)),
    ("PEPE price < 0.00001234", H, rule("PEPE", "price", "<", 0.00001234, ONCE)),
    ("BTC price > 100 000", H, rule("BTC", "price", ">", 1e5, ONCE)),
    ("BTC funding < −0,03%", H, rule("BTC", "funding", "<", -0.03, REPEAT)),
    ("BTC funding_rate > 0.1", H, rule("BTC", "funding", ">", 0.1, REPEAT)),
    ("BTC oi_change_1h > 5", H, rule("BTC", "oi_change_1h", ">", 5.0, REPEAT)),
    ("BTC oi_change_4h < -8%", H, rule("BTC", "oi_change_4h", "<", -8.0, REPEAT)),
    ("BTC oi-change-4h < -8", H, rule("BTC", "oi_change_4h", "<", -8.0, REPEAT)),
    ("BTC liq_short_1h > 1.5B", H, rule("BTC", "liq_short_1h", ">", 1.5e9, REPEAT)),
    ("BTC liq_long > 50 M", H, rule("BTC", "liq_long_1h", ">", 5e7, REPEAT)),
    ("BTC oi > 30B", H, rule("BTC", "oi", ">", 3e10, REPEAT)),
    ("BTC long_pct > 70", H, rule("BTC", "long_pct", ">", 70.0, REPEAT)),
    ("BTC top_long_pct < 40", H, rule("BTC", "top_long_pct", "<", 40.0, REPEAT)),
    ("BTC taker_buy_pct >= 65%", H, rule("BTC", "taker_buy_pct", ">=", 65.0, REPEAT)),
    ("BTC price_change_4h < -3", H, rule("BTC", "price_change_4h", "<", -3.0, REPEAT)),
    ("BTC price_change_1h < -3", S, rule("BTC", "price_change_1h", "<", -3.0, REPEAT)),
    ("BTC netflow_1h < -100M", S, rule("BTC", "netflow_1h", "<", -1e8, REPEAT)),
    ("BTC dominance crosses 60", S, rule("BTC", "btc_dominance", "crosses", 60.0, REPEAT)),
    ("BTC largest_liq_1h > 5M", ST, rule("BTC", "largest_liq_1h", ">", 5e6, REPEAT)),
    ("BTC balance_change_1d < -1.5", H, rule("BTC", "balance_change_1d", "<", -1.5, REPEAT)),
])
def test_rules_users_type(text, plan, expected):
    assert parse_rule(text, plan) == expected


@pytest.mark.parametrize("text,plan,says", [
    ("", H, "No rule given"), ("ETH", H, "needs a coin, a figure"),
    ("ETH price", H, "needs a coin, a figure"), ("ETH price >", H, "needs a number after >"),
    ("ETH price > once", H, "needs a number after >"),
    ("ETH,BTC price > 5", H, "one coin symbol"), ("<b> price > 5", H, "one coin symbol"),
    ("ETH pric > 4000", H, "I don't know the figure pric. Did you mean price?"),
    ("ETH fundng > 0.1", H, "Did you mean funding?"),
    ("ETH volume > 5", H, "I don't know the figure volume."),
    ("ETH price = 4000", H, "use crosses"), ("ETH = 4000", H, "use crosses"),
    ("ETH price equals 4000", H, "use crosses"),
    ("ETH price near 4000", H, "near is not a comparison"),
    ("ETH price >> 4000", H, ">> is not a comparison: use one of them"),
    ("ETH price <> 4000", H, "<> is not a comparison"),
    ("ETH price > lots", H, "price needs a number (USD): not a number"),
    ("ETH price > nan", H, "needs a number"), ("ETH price > inf", H, "needs a number"),
    ("ETH funding > 5M", H, "suffix only fits amounts in USD"),
    ("ETH price > 4000%", H, "% sign does not fit"),
    ("ETH price > -5", H, "must be from 0 to"), ("ETH long_pct > 150", H, "from 0% to 100%"),
    ("ETH liq_long_1h > -5M", H, "must be from 0 to"),
    ("ETH price > 4000 sometimes", H, "then once or repeat if you like; sometimes is neither"),
    ("ETH price > 4000 once please", H, "please is neither"),
    ("BTC netflow_1h > 5M", H, "netflow_1h needs the Startup plan or higher (you have Hobbyist)"),
    ("BTC dominance > 60", H, "btc_dominance needs the Startup plan"),
    ("BTC largest_liq_1h > 1M", S, "largest_liq_1h needs the Standard plan or higher (you have "
                                   "Startup)"),
    ("BTC price_change_1h > 2", H, "needs the Startup plan or higher (you have Hobbyist); "
                                   "price_change_4h is on yours"),
    ("BTC price_change_4h > 2", P, "only in the Hobbyist snapshot; price_change_1h is on yours"),
    ("ETH price > " + "9" * 200, H, "too long"),
])
def test_refused_with_what_is_accepted(text, plan, says):
    with pytest.raises(RuleError) as info:
        parse_rule(text, plan)
    assert says in str(info.value)
    assert not isinstance(info.value, AmbiguousRule)


def test_errors_list_the_plan_s_metrics_operators_and_an_example():
    with pytest.raises(RuleError) as info:
        parse_rule("ETH pric > 4000", H)
    text = str(info.value)
    assert "Write SYM METRIC OP VALUE [once|repeat], e.g. ETH price > 4000" in text
    assert "Metrics on your Hobbyist plan: price, price_change_4h, funding," in text
    assert "netflow_1h" not in text
    assert "Operators: > < >= <= (or above, below) or crosses" in text
    assert info.value.suggestions == ("price",)
    assert "netflow_1h" in usage(S) and "largest_liq_1h" in usage(ST)


def test_a_metric_the_plan_lacks_names_the_plan_that_has_it():
    with pytest.raises(RuleError) as info:
        parse_rule("BTC netflow_1h > 5M", H)
    assert info.value.needs_plan == Plan.STARTUP


def test_suggestions_only_offer_what_the_plan_has():
    with pytest.raises(RuleError) as info:
        parse_rule("BTC netflw_1h > 5M", H)
    assert "netflow_1h" not in info.value.suggestions
    with pytest.raises(RuleError) as info:
        parse_rule("BTC netflw_1h > 5M", S)
    assert info.value.suggestions[0] == "netflow_1h"


@pytest.mark.parametrize("text,readings,says", [
    ("ETH price > 4,000", (4.0, 4000.0), "4,000 could be 4 or 4000; send 4 or 4000 to say which"),
    ("ETH price > 1,125", (1.125, 1125.0), "could be 1.1250 or 1125"),
    ("ETH long_pct > 1,500", (1.5,), "only 1.5 makes sense for long_pct"),
    ("BTC liq_long_1h > 1,500M", (1.5e6, 1.5e9), "could be 1.5M or 1.5B"),
])
def test_a_value_read_two_ways_is_asked(text, readings, says):
    with pytest.raises(AmbiguousRule) as info:
        parse_rule(text, H)
    assert tuple(c.value for c in info.value.choices) == readings
    assert says in str(info.value)
    for choice in info.value.choices:            # the answer suggested reads back exactly
        assert choice.coin in text and choice.op == Op.GT


def test_the_suggested_answers_read_back_without_a_question():
    with pytest.raises(AmbiguousRule) as info:
        parse_rule("ETH price > 1,125", H)
    assert parse_rule("ETH price > 1.1250", H).value == 1.125
    assert parse_rule("ETH price > 1125", H).value == 1125.0
    assert len(info.value.choices) == 2


# --- display -----------------------------------------------------------------------------

@pytest.mark.parametrize("spec,text", [
    (rule("ETH", "price", ">", 4000.0, ONCE), "ETH price > 4,000 (once)"),
    (rule("BTC", "price", "crosses", 1e5, ONCE), "BTC price crosses 100,000 (once)"),
    (rule("BTC", "funding", "<", -0.03, REPEAT), "BTC funding per 8h < -0.03% (repeat)"),
    (rule("SOL", "liq_long_1h", ">=", 5e7, REPEAT), "SOL long liquidations 1h >= 50M (repeat)"),
    (rule("BTC", "long_pct", ">", 70.0, REPEAT), "BTC long share of accounts > 70% (repeat)"),
    (rule("BTC", "netflow_1h", "<", -1.5e8, REPEAT), "BTC netflow 1h < -150M (repeat)"),
    (rule("PEPE", "price", "<", 0.00001234, ONCE), "PEPE price < 0.00001234 (once)"),
])
def test_describe(spec, text):
    assert spec.describe() == text


@pytest.mark.parametrize("value,text", [
    (4000.0, "4,000"), (100000.0, "100,000"), (3412.567, "3,412.57"), (0.5123, "0.5123"),
    (0.00001234, "0.00001234"), (95123.456, "95,123.46"), (1.0, "1"), (0.0, "0"),
    (1234567.0, "1,234,567"),
])
def test_format_price(value, text):
    assert format_price(value) == text


@pytest.mark.parametrize("value,text", [(5e7, "50M"), (1.5e9, "1.5B"), (-2e7, "-20M"),
                                        (7.5e5, "750k"), (500.0, "500"), (1.234e8, "123.4M")])
def test_format_usd(value, text):
    assert format_usd(value) == text


def test_stored_rules_round_trip():
    spec = rule("ETH", "liq_long_1h", ">=", 5e7, REPEAT)
    assert RuleSpec.from_dict(spec.to_dict()) == spec
    assert spec.to_dict() == {"coin": "ETH", "metric": "liq_long_1h", "op": ">=",
                              "value": 5e7, "mode": "repeat"}
    with pytest.raises(RuleError):
        RuleSpec.from_dict({**spec.to_dict(), "metric": "gone"})


# --- the metric table --------------------------------------------------------------------

def test_the_spec_s_metrics_are_there_with_their_plans():
    every_plan = ("price", "funding", "oi_change_1h", "oi_change_4h", "liq_long_1h",
                  "liq_short_1h", "long_pct", "top_long_pct", "taker_buy_pct")
    hobbyist = {metric.name for metric in metrics_for(H)}
    assert set(every_plan) <= hobbyist
    assert METRICS["price_change_1h"].min_plan == Plan.STARTUP      # 1 h candles: Startup+
    assert {"netflow_1h", "btc_dominance"} <= {m.name for m in metrics_for(S)} - hobbyist
    assert "largest_liq_1h" in {m.name for m in metrics_for(ST)}
    assert {m.name for m in metrics_for(S)} <= {m.name for m in metrics_for(P)} | {
        "price_change_4h"}


def test_each_metric_needs_at_least_its_section_s_plan():
    for metric in METRICS.values():
        assert metric.min_plan >= market.SECTION_MIN_PLAN[metric.section], metric.name
        assert metric.section in market.SECTIONS


def test_aliases_point_at_metrics_and_defaults_are_documented():
    assert all(target in METRICS for target in ALIASES.values())
    assert not set(ALIASES) & set(METRICS)
    assert METRICS["price"].default_mode == ONCE
    assert all(m.default_mode == REPEAT for m in METRICS.values() if m.name != "price")
    assert all(isinstance(m, Metric) and m.about for m in METRICS.values())


M = 1e6


@pytest.mark.parametrize("name,sections,value", [
    ("price", dict(price=price(last=4012.5)), 4012.5),
    ("price_change_1h", dict(price=price(change=-2.5, window="1h")), -2.5),
    ("price_change_1h", dict(price=price(change=-2.5, window="4h")), None),
    ("price_change_4h", dict(price=price(change=-2.5, window="4h")), -2.5),
    ("price_change_1h", dict(price=price(change=None)), None),
    ("funding", dict(), 0.01),
    ("oi", dict(open_interest=open_interest(total=12e9)), 12e9),
    ("oi_change_1h", dict(open_interest=open_interest(h1=6.0)), 6.0),
    ("oi_change_4h", dict(open_interest=open_interest(h4=-9.0)), -9.0),
    ("oi_change_4h", dict(open_interest=open_interest(h4=None)), None),
    ("oi_change_24h", dict(open_interest=open_interest(**{"24h": 12.0})), 12.0),
    ("liq_long_1h", dict(liquidations=liquidations(long=90 * M)), 90 * M),
    ("liq_long_1h", dict(liquidations=liquidations(long=0.0)), 0.0),       # a real zero
    ("liq_short_1h", dict(liquidations=liquidations(short=7 * M)), 7 * M),
    ("liq_1h", dict(liquidations=liquidations(long=2 * M, short=3 * M)), 5 * M),
    ("liq_long_1h", dict(liquidations=liquidations(window="4h")), None),
    ("long_pct", dict(global_ls=ratio(70.0)), 70.0),
    ("top_long_pct", dict(top_ls=ratio(40.0)), 40.0),
    ("taker_buy_pct", dict(taker=taker(65.0)), 65.0),
    ("taker_buy_pct", dict(taker=taker(0.0, 0.0)), None),                   # no volume
    ("balance_change_1d", dict(balances=balances(-2.0)), pytest.approx(-2.0)),
    ("netflow_1h", dict(netflow=netflow(-300 * M)), -300 * M),
    ("netflow_1h", dict(netflow=netflow(None)), None),
    ("netflow_24h", dict(netflow=netflow(5.0)), 0.0),
    ("btc_dominance", dict(dominance=dominance(level=61.5)), 61.5),
    ("largest_liq_1h", dict(liquidation_orders=LiquidationOrdersSection(
        3, 9 * M, 1 * M, 6 * M, price().time)), 6 * M),
])
def test_reading_figures_from_a_snapshot(name, sections, value):
    assert read_metric(name, snap(**sections)) == value


@pytest.mark.parametrize("name", list(METRICS))
def test_a_missing_section_is_missing_never_zero(name):
    section = METRICS[name].section
    snapshot = snap(calm=False)
    assert snapshot.section(section) is None
    assert read_metric(name, snapshot) is None
    assert read_metric(name, snap(**{section: None})) is None
    spec = RuleSpec("BTC", name, Op.LT, METRICS[name].maximum, REPEAT)
    assert not evaluate_rule(spec, None, spec.read(snapshot))


# --- evaluation --------------------------------------------------------------------------

GT_ONCE = rule("ETH", "price", ">", 4000.0, ONCE)
GT_REPEAT = rule("ETH", "price", ">", 4000.0, REPEAT)
GE_REPEAT = rule("ETH", "price", ">=", 4000.0, REPEAT)
LT_REPEAT = rule("BTC", "funding", "<", -0.03, REPEAT)
LE_ONCE = rule("BTC", "funding", "<=", -0.03, ONCE)
CROSS = rule("BTC", "price", "crosses", 100_000.0, REPEAT)


@pytest.mark.parametrize("spec,previous,current,fires", [
    (GT_ONCE, None, 4001.0, True), (GT_ONCE, 3999.0, 4001.0, True),
    (GT_ONCE, 4001.0, 4002.0, True),          # once: holds → fires (the caller retires it)
    (GT_ONCE, None, 4000.0, False), (GT_ONCE, 4001.0, 3999.0, False),
    (GT_ONCE, 4001.0, None, False),
    (GT_REPEAT, 3999.0, 4001.0, True), (GT_REPEAT, 4001.0, 4002.0, False),
    (GT_REPEAT, None, 4001.0, True), (GT_REPEAT, 4001.0, 3000.0, False),
    (GT_REPEAT, 4000.0, 4000.5, True),
    (GE_REPEAT, 3999.0, 4000.0, True), (GE_REPEAT, 4000.0, 4000.0, False),
    (LT_REPEAT, 0.01, -0.05, True), (LT_REPEAT, -0.05, -0.06, False),
    (LT_REPEAT, -0.03, -0.03, False), (LE_ONCE, 0.0, -0.03, True), (LE_ONCE, None, -0.02, False),
    (CROSS, 99_000.0, 100_500.0, True), (CROSS, 101_000.0, 99_500.0, True),
    (CROSS, 99_000.0, 100_000.0, True), (CROSS, 100_000.0, 100_500.0, False),
    (CROSS, 99_000.0, 99_999.0, False), (CROSS, 100_500.0, 101_000.0, False),
    (CROSS, None, 100_500.0, False), (CROSS, 99_000.0, None, False),
    (CROSS, 99_000.0, math.nan, False), (GT_ONCE, None, math.nan, False),
])
def test_evaluate(spec, previous, current, fires):
    assert evaluate_rule(spec, previous, current) is fires


@given(st.lists(st.floats(min_value=90_000, max_value=110_000), min_size=2, max_size=40))
def test_crosses_fires_once_per_passage(path):
    fired = sum(evaluate_rule(CROSS, a, b) for a, b in zip(path, path[1:]))
    sides = [p > 100_000 for p in path if p != 100_000]
    changes = sum(1 for a, b in zip(sides, sides[1:]) if a != b)
    assert fired == changes


@given(st.lists(st.floats(min_value=3_000, max_value=5_000), min_size=1, max_size=40))
def test_repeat_fires_on_each_new_crossing_into_the_condition(path):
    fired = [evaluate_rule(GT_REPEAT, a, b) for a, b in zip([None] + path, path)]
    entries = [b > 4000 and (a is None or a <= 4000) for a, b in zip([None] + path, path)]
    assert fired == entries


def test_room_for_rules():
    assert MAX_RULES == 50
    ensure_room(49)
    with pytest.raises(RuleError, match="the most allowed is 50"):
        ensure_room(50)


@given(st.text(max_size=80))
def test_arbitrary_text_gives_a_rule_or_its_own_error(text):
    try:
        spec = parse_rule(text, Plan.ENTERPRISE)
    except RuleError:
        return
    assert spec.metric in METRICS and math.isfinite(spec.value)
