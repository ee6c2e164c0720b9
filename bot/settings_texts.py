"""Settings in a trader's words: /list, /plan, /set replies and the /settings menu (SPEC §12).

Names a trader knows, one fact per line, what is off shown as off; the ids stay as the
``/set`` arguments and appear in ``<code>`` beside the words. Pure: domain data in, HTML out.
"""

from __future__ import annotations

import difflib
from typing import Mapping

from bot import hours_texts
from bot.format import esc, interval
from core.budget import Budget
from core.plans import PLAN_INFO, Plan
from core.signals.catalog import SIGNAL_INFO, SIGNALS
from core.signals.model import Level
from core.thresholds import (
    MIN_LEVEL, PRESETS, SPECS, ThresholdSet, display_value, visible_specs,
)
from core.users import User

COOLDOWNS = ("cooldown_high", "cooldown_medium", "cooldown_low")


def polling_phrase(budget: Budget) -> str:
    """"every 24 s (as often as your plan allows)" — the interval and why it is that."""
    why = ""
    if budget.auto:
        why = " (as often as your plan's budget allows)"
    elif budget.raised:
        why = f" (you asked for {interval(budget.base)}; your plan's budget allows no faster)"
    return f"every {interval(budget.interval)}{why}"


def _value(name: str, values: Mapping[str, float], user_wide: Mapping[str, float],
           with_id: bool = True) -> str:
    """The value in bold, ✎ when the user changed it, and its /set name."""
    mark = " ✎" if name in user_wide else ""
    name_tag = f" <code>{name}</code>" if with_id else ""
    return f"<b>{esc(display_value(name, values[name]))}</b>{mark}{name_tag}"


def _signal_rule(signal_id: str, values: Mapping[str, float],
                 user_wide: Mapping[str, float]) -> str:
    """What makes a signal fire, with the user's values, in words."""
    v = lambda name: _value(name, values, user_wide)    # noqa: E731 - local shorthand
    rules = {
        "funding_extreme": f"funding above {v('funding_high')} or below {v('funding_low')}",
        "oi_surge": f"open interest moves more than {v('oi_change')} in 1 h",
        "liquidation_cascade": f"one side liquidated above {v('liquidation_usd')} in 1 h",
        "ls_extreme": f"accounts long above {v('long_ratio_high')}, short above "
                      f"{v('short_ratio_high')}",
        "smart_money_divergence": f"top traders and retail {v('divergence_gap')} apart",
        "taker_bias": f"market orders beyond {v('taker_bias')} on one side",
        "oi_price_regime": f"OI and price both move (at least {v('regime_oi_min')} and "
                           f"{v('regime_price_min')}) into a long liquidation or squeeze",
        "exchange_balance": f"exchange balances move {v('balance_change')} in a day",
        "netflow": f"taker netflow above {v('netflow_usd')} in 1 h",
        "btc_dominance": f"BTC dominance moves {v('dominance_change')} in 24 h",
        "whale_position": f"a Hyperliquid position of {v('whale_usd')} opens or closes",
        "orderbook_wall": f"a {v('wall_usd')} order within {v('wall_distance')}",
        "liquidation_cluster": f"{v('cluster_usd')} of liquidations within "
                               f"{v('cluster_distance')}",
    }
    return rules.get(signal_id, SIGNAL_INFO[signal_id].about)


def list_text(user: User, coins: list[str], user_wide: Mapping[str, float],
              per_coin: Mapping[str, Mapping[str, float]], disabled: set[str],
              budget: Budget, now: float, pause: str, rules_line: str | None = None) -> str:
    plan = user.effective_plan
    key = {"valid": "set", "rejected": "rejected — /setkey", "none": "not set — /setkey"}
    values = ThresholdSet.resolve(user_wide).values
    lines = [
        "<b>Your settings</b>",
        f"Plan: {plan.title if user.known_plan else 'unknown until /setkey'} · key "
        f"{key[user.key_state]}",
        f"Polling: {polling_phrase(budget)}",
        f"Alerts: {pause} · from level <b>{Level(int(values[MIN_LEVEL])).name}</b>",
        f"Coins: {esc(', '.join(coins)) if coins else 'none — /subscribe BTC'}",
        *([rules_line] if rules_line else []),
        "", "<b>Signals</b>:",
    ]
    off = []
    for info in SIGNALS:
        if info.min_plan > plan:
            continue
        if info.id in disabled:
            off.append(info.name)
            continue
        line = f"• {esc(info.name)}: {_signal_rule(info.id, values, user_wide)}"
        overrides = [f"{c} {display_value(n, v[n])}" for c, v in per_coin.items() if c in coins
                     for n in v if SPECS.get(n) and SPECS[n].signal == info.id]
        if overrides:
            line += " · for " + esc(", ".join(overrides))
        lines.append(line)
    if off:
        lines.append("Off: " + esc(", ".join(off)) + " (/settings switches them on)")
    locked = [s.name for s in SIGNALS if s.min_plan > plan]
    if locked:
        lines.append("Needs a bigger plan: " + esc(", ".join(locked)))
    lines.append("Repeat a still-active signal after: " + ", ".join(
        f"{name.split('_')[1].upper()} {_value(name, values, user_wide, with_id=False)}"
        for name in COOLDOWNS) + " (<code>cooldown_high</code>…)")
    lines += ["", "✎ = changed by you. Change one: /set oi_change 3 · for one coin: "
              "/set SOL oi_change 8 · every name: /set"]
    return "\n".join(lines)


def set_usage(plan: Plan) -> str:
    lines = ["Usage: /set NAME VALUE (for one coin: /set SOL NAME VALUE; "
             "<code>default</code> resets). Names:"]
    lines += [f"• <code>{s.name}</code> — {esc(s.title)}" for s in visible_specs(plan)]
    lines.append("• <code>interval</code> — seconds between polls, or auto")
    return "\n".join(lines)


def close_names(given: str, plan: Plan) -> list[str]:
    """Threshold names close to ``given``, by id or by their words."""
    names = [s.name for s in visible_specs(plan)] + ["interval"]
    by_id = difflib.get_close_matches(given.lower(), names, n=3, cutoff=0.5)
    titles = {s.title.lower(): s.name for s in visible_specs(plan)}
    by_words = [titles[t] for t in difflib.get_close_matches(given.lower(), titles, n=2,
                                                              cutoff=0.45)]
    return list(dict.fromkeys(by_id + by_words))[:3]


def unknown_threshold(name: str, plan: Plan) -> str:
    close = close_names(name, plan)
    if close:
        hint = "Did you mean " + " or ".join(f"<code>{c}</code>" for c in close) + "?"
    else:
        hint = "/set alone lists every name."
    return f"I don't know the setting {esc(name[:40])}. {hint} Nothing changed."


def threshold_set(name: str, value: float | None, coin: str | None) -> str:
    scope = f" for {esc(coin)}" if coin else ""
    spec = SPECS[name]
    if value is None:
        return (f"✅ {esc(spec.title)}{scope} is back to its default: "
                f"{esc(display_value(name, spec.default))} (<code>{name}</code>).")
    return (f"✅ {esc(spec.title)}{scope}: {esc(display_value(name, value))} "
            f"(<code>{name}</code>).")


def settings_main(user: User, values: Mapping[str, float], disabled: set[str]) -> str:
    plan = user.effective_plan
    on = sum(1 for s in SIGNALS if s.min_plan <= plan and s.id not in disabled)
    total = sum(1 for s in SIGNALS if s.min_plan <= plan)
    return (f"⚙️ <b>Settings</b>\nSignals on: {on} of {total}\nAlert me from level: "
            f"<b>{Level(int(values[MIN_LEVEL])).name}</b>\n“All clear” messages: "
            f"{'on' if user.all_clear else 'off'}\n{hours_texts.settings_lines(user)}\n"
            "Tap to change; every change is saved at once.")


def settings_signals(plan: Plan) -> str:
    lines = ["<b>Signals</b> — tap to switch on (✅) or off (⛔):"]
    lines += [f"• {esc(s.name)}: {esc(s.about)}" for s in SIGNALS if s.min_plan <= plan]
    locked = [s for s in SIGNALS if s.min_plan > plan]
    if locked:
        lines.append("Higher plans add: " + esc(", ".join(f"{s.name} ({s.min_plan.title}+)"
                                                          for s in locked)))
    return "\n".join(lines)


SETTINGS_THRESHOLDS = "<b>Thresholds</b> — tap one to adjust it:"
SETTINGS_PRESETS = ("<b>Presets</b> move the core thresholds together. Tap one to see what it "
                    "would change; nothing changes until you confirm.\n"
                    "• conservative: fewer, stronger alerts\n• balanced: the defaults\n"
                    "• aggressive: earlier, more frequent alerts")
SETTINGS_CLOSED = "Settings saved. /list shows them all."


def settings_threshold(name: str, value: float, is_default: bool) -> str:
    spec = SPECS[name]
    default = "" if is_default else f" (default {esc(display_value(name, spec.default))})"
    return (f"<b>{esc(spec.title)}</b>: {esc(display_value(name, value))}{default}\n"
            f"{esc(spec.about)}\n<code>/set {name} …</code> sets it exactly.")


def preset_changes(name: str, values: Mapping[str, float]) -> list[tuple[str, float, float]]:
    """(threshold, now, after) for each value the preset would change."""
    return [(n, values[n], v) for n, v in PRESETS[name].items() if values[n] != v]


def preset_preview(name: str, values: Mapping[str, float]) -> str:
    changes = preset_changes(name, values)
    if not changes:
        return f"<b>{esc(name)}</b> is what you have already: nothing would change."
    lines = [f"The <b>{esc(name)}</b> preset would change:"]
    lines += [f"• {esc(SPECS[n].title)}: {esc(display_value(n, old))} → "
              f"<b>{esc(display_value(n, new))}</b>" for n, old, new in changes]
    lines.append("Apply it?")
    return "\n".join(lines)


def preset_applied(name: str, changes: list[tuple[str, float, float]]) -> str:
    lines = [f"✅ Preset <b>{esc(name)}</b> applied:"]
    lines += [f"• {esc(SPECS[n].title)}: {esc(display_value(n, old))} → "
              f"{esc(display_value(n, new))}" for n, old, new in changes]
    return "\n".join(lines)


def _adds(plan: Plan) -> list[str]:
    """What a plan adds to the snapshot, without the history notes (said once, apart)."""
    return [a for a in PLAN_INFO[plan].adds if not a.startswith("history")]


def plan_text(user: User, budget: Budget) -> str:
    plan = user.known_plan
    if plan is None:
        return ("No plan yet: /setkey detects it from your key.\n" + plans_overview())
    info = PLAN_INFO[plan]
    source = "set by you with /plan" if user.plan_override else "detected from your key"
    lines = [f"Plan: <b>{plan.title}</b> ({source})",
             f"Requests: {budget.per_minute} per minute (polling uses at most "
             f"{budget.usable_per_minute})",
             f"History: candles from {info.min_interval}",
             f"Polling: {polling_phrase(budget)} for {budget.coins} coin"
             f"{'s' if budget.coins != 1 else ''}",
             "Your snapshot has:"]
    lines += [f"• {esc(a)}" for p in Plan if p <= plan for a in _adds(p)]
    nxt = plan.next()
    if nxt and _adds(nxt):
        lines.append(f"{nxt.title} would add:")
        lines += [f"• {esc(a)}" for a in _adds(nxt)]
    lines.append("/plan NAME overrides detection (" + ", ".join(p.name.lower() for p in Plan)
                 + "); /plan auto follows CoinGlass again.")
    return "\n".join(lines)


def plans_overview() -> str:
    return "\n".join(f"• <b>{p.title}</b> ({PLAN_INFO[p].per_minute}/min): "
                     + esc("; ".join(_adds(p))) for p in Plan)
