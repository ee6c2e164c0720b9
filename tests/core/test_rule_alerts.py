"""Rules in the poll: which fire on a snapshot, what the rule rows become, the outbox rows."""

from __future__ import annotations

from dataclasses import replace

from core.rule_alerts import FIRED, RULE_LEVEL, WAITING, Rule, decide_rules, watched_coins
from core.user_rules import Mode, Op, RuleSpec
from tests.core.signals.factories import T0, funding, price, snap

NOW = 1_800_000_000.0
HOUR = 3600.0


def rule(op=">", value=4000.0, mode=Mode.ONCE, coin="ETH", metric="price", **state) -> Rule:
    return Rule(7, 3, RuleSpec(coin, metric, Op(op), value, mode), **state)


def at(last: float | None, coin: str = "ETH") -> dict:
    return {coin: snap(coin, price=price(last=last) if last is not None else None)}


def run(r: Rule, value: float | None, now: float = NOW, **kw):
    return decide_rules([r], at(value, r.coin), now, **kw)


def play(r: Rule, values: list[float | None], step: float = 60.0, **kw) -> tuple[Rule, list]:
    """Poll after poll, applying each poll's updates as the repository would."""
    fired = []
    for i, value in enumerate(values):
        out = run(r, value, NOW + i * step, **kw)
        fired += [a["payload"]["value"] for a in out.alerts]
        if r.id in out.updates:
            r = replace(r, **out.updates[r.id])
    return r, fired


def test_a_once_rule_fires_the_first_time_it_holds_then_is_done():
    done, fired = play(rule(), [3900.0, 3990.0, 4012.0, 4050.0, 3900.0, 4100.0])
    assert fired == [4012.0]
    assert done.state == FIRED and done.done and done.fired_at == NOW + 2 * 60
    assert watched_coins([done]) == []


def test_the_first_poll_of_a_once_rule_that_already_holds_fires():
    out = run(rule(), 4100.0)
    assert [a["payload"]["value"] for a in out.alerts] == [4100.0]
    assert out.updates[7] == {"last_value": 4100.0, "fired_at": NOW, "state": FIRED}


def test_a_repeat_rule_fires_on_each_crossing_and_not_while_it_stays():
    r = rule(mode=Mode.REPEAT)
    hours = [3900.0, 4100.0, 4200.0, 3900.0, 4100.0, 4150.0]
    after, fired = play(r, hours, step=2 * HOUR)          # crossings far apart
    assert fired == [4100.0, 4100.0]
    assert after.state == WAITING and after.last_value == 4150.0


def test_a_repeat_crossing_inside_the_cooldown_is_passed_over():
    r = rule(mode=Mode.REPEAT)
    values = [3900.0, 4100.0, 3900.0, 4100.0, 4100.0]     # a minute apart: flapping
    after, fired = play(r, values, step=60.0)
    assert fired == [4100.0]
    # the cooldown is the user's MEDIUM one for the coin
    _, fired = play(r, values, step=60.0, cooldown_seconds=lambda coin: 90.0)
    assert fired == [4100.0, 4100.0]


def test_crosses_needs_a_value_to_compare_with():
    r = rule(op="crosses", value=100_000.0, coin="BTC")
    _, fired = play(r, [101_000.0, 99_000.0, 99_500.0, 100_500.0], step=2 * HOUR)
    assert fired == [99_000.0]                  # a one-shot rule: the first crossing, then done


def test_a_missing_figure_fires_nothing_and_keeps_the_last_value():
    r = rule(mode=Mode.REPEAT, last_value=3900.0)
    out = run(r, None)
    assert out.alerts == [] and out.updates == {}
    # the gap does not look like a crossing when the data returns
    _, fired = play(rule(mode=Mode.REPEAT, last_value=4100.0), [None, None, 4120.0])
    assert fired == []


def test_a_muted_coin_s_rules_wait_and_compare_with_the_value_from_before_the_mute():
    r = rule(mode=Mode.REPEAT, last_value=3900.0)
    muted = {"ETH": NOW + HOUR}
    out = run(r, 4100.0, mutes=muted)
    assert out.alerts == [] and out.updates == {}          # not evaluated, value kept
    after = run(r, 4050.0, now=NOW + HOUR + 1, mutes=muted)     # the mute is over
    assert [a["payload"]["value"] for a in after.alerts] == [4050.0]
    round_trip = run(r, 3950.0, now=NOW + HOUR + 1, mutes=muted)
    assert round_trip.alerts == []


def test_only_the_coin_s_rules_are_read_and_done_rules_are_left_alone():
    eth, btc = rule(), rule(coin="BTC", value=90_000.0)
    done = replace(rule(), id=9, state=FIRED, fired_at=NOW - HOUR)
    out = decide_rules([eth, btc, done], at(4100.0), NOW)
    assert [a["coin"] for a in out.alerts] == ["ETH"] and set(out.updates) == {7}
    assert watched_coins([eth, btc, done, rule(coin="ETH")]) == ["ETH", "BTC"]


def test_the_alert_row_says_the_rule_the_value_and_what_it_was():
    r = rule(last_value=3990.0)
    [row] = run(r, 4012.0, cooldown_seconds=lambda coin: 45 * 60.0).alerts
    assert (row["kind"], row["coin"], row["level"]) == ("alert", "ETH", int(RULE_LEVEL))
    assert row["data_time"] == price().time.timestamp()       # the figure's own time
    payload = row["payload"]
    assert payload["rule"] == {"id": 7, "number": 3, "coin": "ETH", "metric": "price",
                               "op": ">", "value": 4000.0, "mode": "once"}
    assert (payload["value"], payload["previous"], payload["done"]) == (4012.0, 3990.0, True)
    assert payload["cooldown_minutes"] == 45.0
    assert payload["summary"]["price"]["price"] == 4012.0
    assert "signals" not in payload and "triggers" not in payload


def test_other_figures_than_price():
    r = Rule(1, 1, RuleSpec("BTC", "funding", Op.LT, -0.03, Mode.REPEAT))
    calm = decide_rules([r], {"BTC": snap(funding=funding(0.01))}, NOW)
    assert calm.alerts == [] and calm.updates[1] == {"last_value": 0.01}
    r = replace(r, last_value=0.01)
    negative = decide_rules([r], {"BTC": snap(funding=funding(-0.05))}, NOW)
    assert [a["payload"]["value"] for a in negative.alerts] == [-0.05]
    assert negative.alerts[0]["data_time"] == (T0.timestamp() - 60)
