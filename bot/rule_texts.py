"""Texts of the user's own rules (``/alert``, ``/alerts``), one-tap start links and the test
alert (SPEC §17), as pure functions of domain data (HTML, user text escaped).

A rule's alert leads with the rule and the value now, as the notification preview shows it:
``🎯 ETH price 4,012 > 4,000 (your rule #3, once — done)``.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any, Iterable, Mapping

from bot.alert_texts import TEST_MARK
from bot.format import esc, pct, price, usd, when
from core.plans import Plan
from core.rule_alerts import Rule
from core.sample_alert import MADE_UP
from core.storage.repo import OutboxItem
from core.user_rules import MAX_RULES, METRICS, OPERATORS_TEXT, Mode, Op, RuleSpec, metrics_for

NFA = "<i>Not financial advice.</i>"
RULE_MARK = "🎯"


def _spec(data: Mapping[str, Any]) -> RuleSpec | None:
    try:
        return RuleSpec.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


# --- the alert a rule fires -------------------------------------------------------------

def rule_headline(spec: RuleSpec, value: float, number: int, done: bool) -> str:
    """``🎯 <b>ETH price 4,012 > 4,000</b> (your rule #3, once — done)``."""
    metric = spec.info
    if spec.op == Op.CROSSES:
        arrow = "▲" if value >= spec.value else "▼"
        what = f"{spec.label} {metric.format(value)} crossed {metric.format(spec.value)} {arrow}"
    else:
        what = f"{spec.label} {metric.format(value)} {spec.op.value} {metric.format(spec.value)}"
    how = "once — done" if done else spec.mode.value
    return f"{RULE_MARK} <b>{esc(what)}</b> (your rule #{number}, {how})"


def _market_line(summary: Mapping[str, Any], now: float, tz: tzinfo | None) -> str:
    parts = []
    if p := summary.get("price"):
        change = (f" ({pct(p['change_pct'], 1)} {p['window']})"
                  if p.get("change_pct") is not None else "")
        parts.append(f"{price(p['price'])}{change}")
    if f := summary.get("funding"):
        parts.append(f"funding {pct(f['average_8h_pct'], 4)}/8h")
    if oi := summary.get("open_interest"):
        parts.append(f"OI {usd(oi['usd'])}")
    parts.append(f"data {when(summary.get('data_time'), now, tz)}")
    return " · ".join(parts)


def rule_alert(item: OutboxItem, now: float, tz: tzinfo | None = None) -> str:
    """A rule that fired: the rule and the value now, what it was, what happens next."""
    payload = item.payload
    rule = payload["rule"]
    spec = _spec(rule)
    if spec is None:                 # a metric retired since: say what we can
        return f"{RULE_MARK} <b>{esc(item.coin or '')}</b>: your rule #{rule.get('number')} fired."
    value, previous = payload["value"], payload.get("previous")
    lines = [rule_headline(spec, value, rule["number"], bool(payload.get("done")))]
    if previous is not None:
        lines.append(f"Was {esc(spec.info.format(previous))} at the poll before.")
    lines.append(_market_line(payload.get("summary") or {}, now, tz))
    if payload.get("done"):
        lines.append("This rule is done and won't fire again. /alerts lists your rules.")
    else:
        minutes = payload.get("cooldown_minutes") or 60
        lines.append(f"It fires again on the next crossing, at most once every {minutes:g} min; "
                     f"/alert del {rule['number']} removes it.")
    lines.append(NFA)
    return "\n".join(lines)


def test_alert(item: OutboxItem, now: float, tz: tzinfo | None = None) -> str:
    """The test alert of /settings, marked as a test on its first line."""
    payload = item.payload
    coin = esc(item.coin or "")
    made_up = payload.get("figures") == MADE_UP
    lines = [f"{TEST_MARK}<b>{coin}</b> — checking that alerts reach you; nothing happened"]
    lines.append("A real alert's first line says what happened, e.g. "
                 f"🔴 {coin} ▼ $95M longs liquidated in 1h.")
    lines.append(_market_line(payload.get("summary") or {}, now, tz))
    if made_up:
        lines.append(f"⚠️ Made-up figures: I have no data for {coin} yet (it comes with "
                     "/setkey and the first poll).")
    else:
        lines.append("Figures from your last poll.")
    lines.append("The buttons below work as on a real alert.")
    return "\n".join(lines)


def brief(item: OutboxItem, now: float, tz: tzinfo | None = None) -> str | None:
    """The message of a rule's alert or a test alert; None for any other outbox row."""
    if item.kind != "alert":
        return None
    if "rule" in item.payload:
        return rule_alert(item, now, tz)
    if item.payload.get("test"):
        return test_alert(item, now, tz)
    return None


def history_title(payload: Mapping[str, Any]) -> str | None:
    """What /history shows for a rule's alert or a test alert (None for others)."""
    if "rule" in payload:
        spec = _spec(payload["rule"])
        described = spec.describe() if spec else "a rule"
        return f"{RULE_MARK} rule #{payload['rule'].get('number')}: {described}"
    if payload.get("test"):
        return "🧪 test alert"
    return None


# --- /alert and /alerts ------------------------------------------------------------------

def usage(plan: Plan) -> str:
    names = ", ".join(f"<code>{m.name}</code>" for m in metrics_for(plan))
    return ("🎯 <b>Your own rules</b>: <code>/alert SYM METRIC OP VALUE [once|repeat]</code>\n"
            "e.g. <code>/alert ETH price &gt; 4000</code>, "
            "<code>/alert BTC funding &lt; -0.03 repeat</code>, "
            "<code>/alert SOL liq_long_1h &gt;= 50M</code>\n"
            f"Metrics on your {plan.title} plan: {names}.\n"
            f"Operators: {esc(OPERATORS_TEXT)}. Values like 4k, 3,5 or 50M.\n"
            "<b>once</b> (the default for price) fires the first time it holds, then the rule "
            "is done; <b>repeat</b> fires on each new crossing.\n"
            f"/alerts lists your rules (at most {MAX_RULES}); /alert del N removes one.")


def rule_refused(message: str, hint: str = "") -> str:
    return f"❌ {esc(message)}\nNothing was stored.{hint}"


ROOM_HINT = " /alerts lists your rules; /alert del N or /alert del done makes room."


def rule_question(message: str) -> str:
    return f"🤔 {esc(message)} Or tap the rule you meant:"


QUESTION_EXPIRED = "That question has expired — send the /alert again."


def rule_unknown_coin(coin: str, close: list[str]) -> str:
    hint = f" Did you mean {esc(', '.join(close))}?" if close else ""
    return (f"❓ Unknown coin {esc(coin)}: CoinGlass has no futures data for it.{hint}\n"
            "Nothing was stored.")


def rule_duplicate(rule: Rule) -> str:
    return (f"You already have that rule: #{rule.number} {esc(rule.spec.describe())}. "
            "Nothing was stored.")


def _how_it_fires(spec: RuleSpec, cooldown_minutes: float) -> str:
    event = "crosses the level" if spec.op == Op.CROSSES else "holds"
    if spec.mode == Mode.ONCE:
        return f"I'll tell you the first time it {event}; then the rule is done."
    crossing = "it crosses" if spec.op == Op.CROSSES else "it becomes true again"
    return (f"I'll tell you each time {crossing}, at most once every {cooldown_minutes:g} min "
            "(your MEDIUM cooldown).")


def rule_added(rule: Rule, *, cooldown_minutes: float, rule_only_coin: bool, has_key: bool,
               paused: bool, value_now: float | None, budget_note: str | None) -> str:
    spec = rule.spec
    lines = [f"✅ Rule #{rule.number}: <b>{esc(spec.describe())}</b>",
             _how_it_fires(spec, cooldown_minutes)]
    if value_now is not None:
        seen = f"{esc(spec.label)} at your last poll: {esc(spec.info.format(value_now))}"
        if spec.op != Op.CROSSES and spec.holds(value_now):
            seen += " — it already holds, so expect the alert at the next poll"
        lines.append(seen + ".")
    if rule_only_coin:
        lines.append(f"{esc(spec.coin)} is not among your coins, so I watch it for this rule; "
                     "it counts in your plan's budget like a coin.")
    if budget_note:
        lines.append(budget_note)
    if not has_key:
        lines.append("Rules start after /setkey (your CoinGlass key).")
    elif paused:
        lines.append("Alerts are paused: rules fire after /resume.")
    lines.append(f"/alerts lists your rules; /alert del {rule.number} removes this one.")
    return "\n".join(lines)


def _state(rule: Rule, now: float, tz: tzinfo | None) -> str:
    if rule.done:
        return f"fired {when(rule.fired_at, now, tz)}, done"
    state = "waiting"
    if rule.fired_at is not None:
        state += f" · last fired {when(rule.fired_at, now, tz)}"
    if rule.last_value is not None:
        state += f" · now {rule.spec.info.format(rule.last_value)}"
    return state


def rules_list(rules: list[Rule], subscribed: Iterable[str], now: float,
               tz: tzinfo | None = None) -> str:
    if not rules:
        return ("You have no rules yet. Add one like <code>/alert ETH price &gt; 4000</code> "
                "(/alert shows how).")
    lines = [f"🎯 <b>Your rules</b> ({len(rules)} of {MAX_RULES}):"]
    lines += [f"#{r.number} {esc(r.spec.describe())} — {esc(_state(r, now, tz))}" for r in rules]
    extra = rule_only_coins(rules, subscribed)
    if extra:
        lines.append(f"Watched for rules only: {esc(', '.join(extra))} (they count in your "
                     "plan's budget).")
    hint = "/alert del N removes one"
    if any(r.done for r in rules):
        hint += ", /alert del done clears the fired ones"
    lines.append(hint + ", /alert del all removes every rule.")
    return "\n".join(lines)


def rule_only_coins(rules: Iterable[Rule], subscribed: Iterable[str]) -> list[str]:
    subscribed = set(subscribed)
    coins: list[str] = []
    for rule in rules:
        if not rule.done and rule.coin not in subscribed and rule.coin not in coins:
            coins.append(rule.coin)
    return coins


def list_line(rules: list[Rule], subscribed: Iterable[str]) -> str:
    """The /list line about rules (subscriptions have their own line)."""
    if not rules:
        return "<b>Rules</b>: none — /alert ETH price &gt; 4000"
    waiting = sum(1 for r in rules if not r.done)
    line = f"<b>Rules</b>: {len(rules)} ({waiting} waiting) — /alerts"
    extra = rule_only_coins(rules, subscribed)
    if extra:
        line += f" · also watched for rules: {esc(', '.join(extra))}"
    return line


DEL_USAGE = ("Which rule? <code>/alert del 3</code> (numbers from /alerts), "
             "<code>/alert del 3 5</code>, <code>/alert del done</code> or "
             "<code>/alert del all</code>. Nothing changed.")


def rules_deleted(numbers: list[int], missing: list[int]) -> str:
    lines = []
    if numbers:
        listed = ", ".join(f"#{n}" for n in numbers)
        lines.append(f"🗑 Deleted rule{'s' if len(numbers) > 1 else ''} {listed}.")
    if missing:
        lines.append("You have no rule " + ", ".join(f"#{n}" for n in missing)
                     + ". /alerts lists them.")
    if not lines:
        lines.append("There was nothing to delete. /alerts lists your rules.")
    return "\n".join(lines)


# --- one-tap start links -----------------------------------------------------------------

def link_line(username: str | None) -> str:
    """How to share a link that opens the bot subscribed (``/help`` and the README)."""
    bot = esc(username) if username else "&lt;bot&gt;"
    return (f"One-tap link: t.me/{bot}?start=ETH_SOL opens this bot and subscribes ETH and SOL "
            "(coins joined with _).")


def start_link_bad(greeting: str, reason: str) -> str:
    return f"{greeting}\n⚠️ {esc(reason)} Nothing was added; /subscribe ETH works too."


def start_link_saved(greeting: str, saved: list[str], unknown: Mapping[str, list[str]],
                     already: list[str], full: list[str], unchecked: bool,
                     total: int) -> str:
    """A start link before any key: the coins are remembered, polled after /setkey."""
    lines = [greeting]
    if saved:
        lines.append(f"📌 I'll remember {esc(', '.join(saved))} and watch "
                     f"{'them' if len(saved) > 1 else 'it'} as soon as your CoinGlass key is set.")
    if already:
        lines.append(f"Already saved: {esc(', '.join(already))}.")
    for coin, close in unknown.items():
        hint = f" Did you mean {esc(', '.join(close))}?" if close else ""
        lines.append(f"❓ Unknown coin {esc(coin)}: CoinGlass has no futures data for it.{hint}")
    if full:
        lines.append(f"You can watch at most {total} coins; not added: {esc(', '.join(full))}.")
    if saved and unchecked:
        lines.append("(I can't check symbols against CoinGlass's list before a key is set.)")
    lines.append("Next: /setkey with your CoinGlass API key (coinglass.com → API; any paid plan "
                 "works).")
    return "\n".join(lines)


def start_link_added(greeting: str, subscribe_answer: str) -> str:
    return f"{greeting}\n{subscribe_answer}\n/list shows your settings, /snapshot the market now."


TEST_QUEUED = "🧪 Test alert on its way"
TEST_TOO_SOON = "A test alert is already on its way"
