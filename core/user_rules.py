"""The user's own alert rules: ``/alert ETH price > 4000`` (SPEC §17).

A rule reads ``SYM METRIC OP VALUE [once|repeat]``:

- ``SYM``: one coin, read like ``/subscribe`` reads coins (``eth``, ``$ETH``, ``ETHUSDT``);
  whether CoinGlass supports it is for the caller to check;
- ``METRIC``: a figure of the user's plan's snapshot (:data:`METRICS`; a few aliases such
  as ``funding_rate`` or ``dominance`` are read too). Left out, it is ``price``
  (``ETH > 4000``);
- ``OP``: ``>`` ``<`` ``>=`` ``<=`` (also ``≥`` ``≤``), the words ``above``/``over`` and
  ``below``/``under``, or ``crosses``: the value passed the level, in either direction,
  between two evaluations;
- ``VALUE``: a number as :mod:`core.numbers` reads it; ``k``/``M``/``B`` for USD figures
  (``4k``, ``50M``), ``%`` tolerated for percentages. A value that reads two ways
  (``4,000``: 4 or 4000) raises :class:`AmbiguousRule` holding a rule for each reading;
- ``once`` fires the first time the condition holds, then the rule is done; ``repeat``
  fires each time it becomes true again (the caller applies the cooldown). ``once`` is
  the default for ``price`` (a level you want to hear about once), ``repeat`` for every
  other figure (a state that comes and goes).

A figure the snapshot lacks (its section is None, or the window differs) is missing,
never 0, and a rule on a missing figure never fires.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Callable, Mapping

from core import market as m
from core.coins import parse_coins
from core.market import MarketSnapshot
from core.numbers import Ambiguous, NumberError, parse_number, plain
from core.plans import Plan

MAX_RULES = 50
MAX_LENGTH = 120


class Op(str, Enum):
    GT = ">"
    LT = "<"
    GE = ">="
    LE = "<="
    CROSSES = "crosses"


class Mode(str, Enum):
    ONCE = "once"
    REPEAT = "repeat"


_OPS: dict[str, Op] = {
    ">": Op.GT, "above": Op.GT, "over": Op.GT, "gt": Op.GT,
    "<": Op.LT, "below": Op.LT, "under": Op.LT, "lt": Op.LT,
    ">=": Op.GE, "=>": Op.GE, "\u2265": Op.GE, "gte": Op.GE,
    "<=": Op.LE, "=<": Op.LE, "\u2264": Op.LE, "lte": Op.LE,
    "crosses": Op.CROSSES, "cross": Op.CROSSES, "crossing": Op.CROSSES,
}
_EQUALS = frozenset({"=", "==", "equals", "is", "at"})
_OP_SYMBOLS = re.compile(r"(>=|<=|=>|=<|==|\u2265|\u2264|>|<|=)")

OPERATORS_TEXT = "> < >= <= (or above, below) or crosses"


# --- metrics -----------------------------------------------------------------------------

def _section(name: str, reader: Callable[[Any], float | None]):
    """A reader of one snapshot section: None when the section is missing."""
    def read(snapshot: MarketSnapshot) -> float | None:
        section = snapshot.section(name)
        if section is None:
            return None
        value = reader(section)
        return value if value is not None and math.isfinite(value) else None
    return read


def _windowed(want: str, reader: Callable[[Any], float | None]):
    """A reader that only trusts a section whose ``window`` is ``want``."""
    return lambda s: reader(s) if s.window == want else None


@dataclass(frozen=True)
class Metric:
    """One figure a rule can watch.

    ``label`` follows the coin in messages ("ETH price", "BTC funding per 8h"); ``usd``
    figures take ``k``/``M``/``B`` and show as ``50M``; ``minimum``/``maximum`` bound the
    levels that make sense. ``min_plan``/``max_plan`` are the plans whose snapshot has it;
    ``instead`` names the metric to offer on plans outside them.
    """

    name: str
    label: str
    unit: str
    section: str
    read: Callable[[MarketSnapshot], float | None] = field(compare=False, repr=False)
    usd: bool = False
    minimum: float = -math.inf
    maximum: float = math.inf
    default_mode: Mode = Mode.REPEAT
    min_plan: Plan = Plan.HOBBYIST
    max_plan: Plan = Plan.ENTERPRISE
    instead: str | None = None
    about: str = ""

    def available(self, plan: Plan) -> bool:
        return self.min_plan <= plan <= self.max_plan

    def value(self, snapshot: MarketSnapshot) -> float | None:
        """The figure in ``snapshot``, or None when the snapshot does not have it."""
        return self.read(snapshot)

    def format(self, value: float) -> str:
        """``4,000`` for a price, ``50M`` for USD amounts, ``-0.03%`` for percentages."""
        if self.name == "price":
            return format_price(value)
        if self.usd:
            return format_usd(value)
        return f"{value:g}%"


PCT = "%"
_METRICS: tuple[Metric, ...] = (
    Metric("price", "price", "USD", m.PRICE, _section(m.PRICE, lambda s: s.price), usd=True,
           minimum=0.0, maximum=1e12, default_mode=Mode.ONCE, about="last price"),
    Metric("price_change_1h", "price change 1h", PCT, m.PRICE,
           _section(m.PRICE, _windowed("1h", lambda s: s.change_pct)), minimum=-100.0,
           maximum=10_000.0, min_plan=Plan.STARTUP, instead="price_change_4h",
           about="price change over 1 h (history in 1 h candles: Startup+)"),
    Metric("price_change_4h", "price change 4h", PCT, m.PRICE,
           _section(m.PRICE, _windowed("4h", lambda s: s.change_pct)), minimum=-100.0,
           maximum=10_000.0, max_plan=Plan.HOBBYIST, instead="price_change_1h",
           about="price change over 4 h (the Hobbyist snapshot's window)"),
    Metric("funding", "funding per 8h", "% per 8 h", m.FUNDING,
           _section(m.FUNDING, lambda s: s.average_8h_pct), minimum=-100.0, maximum=100.0,
           about="average funding rate, per 8 h"),
    Metric("oi", "open interest", "USD", m.OPEN_INTEREST,
           _section(m.OPEN_INTEREST, lambda s: s.total_usd), usd=True, minimum=0.0,
           maximum=1e13, about="open interest across exchanges"),
    Metric("oi_change_1h", "OI change 1h", PCT, m.OPEN_INTEREST,
           _section(m.OPEN_INTEREST, lambda s: s.change("1h")), minimum=-100.0,
           maximum=10_000.0, about="open interest change over 1 h"),
    Metric("oi_change_4h", "OI change 4h", PCT, m.OPEN_INTEREST,
           _section(m.OPEN_INTEREST, lambda s: s.change("4h")), minimum=-100.0,
           maximum=10_000.0, about="open interest change over 4 h"),
    Metric("oi_change_24h", "OI change 24h", PCT, m.OPEN_INTEREST,
           _section(m.OPEN_INTEREST, lambda s: s.change("24h")), minimum=-100.0,
           maximum=10_000.0, about="open interest change over 24 h"),
    Metric("liq_long_1h", "long liquidations 1h", "USD", m.LIQUIDATIONS,
           _section(m.LIQUIDATIONS, _windowed("1h", lambda s: s.long_usd)), usd=True,
           minimum=0.0, maximum=1e13, about="longs liquidated in the last hour"),
    Metric("liq_short_1h", "short liquidations 1h", "USD", m.LIQUIDATIONS,
           _section(m.LIQUIDATIONS, _windowed("1h", lambda s: s.short_usd)), usd=True,
           minimum=0.0, maximum=1e13, about="shorts liquidated in the last hour"),
    Metric("liq_1h", "liquidations 1h", "USD", m.LIQUIDATIONS,
           _section(m.LIQUIDATIONS, _windowed("1h", lambda s: s.total_usd)), usd=True,
           minimum=0.0, maximum=1e13, about="longs and shorts liquidated in the last hour"),
    Metric("long_pct", "long share of accounts", "% of accounts", m.GLOBAL_LS,
           _section(m.GLOBAL_LS, lambda s: s.long_pct), minimum=0.0, maximum=100.0,
           about="share of accounts long"),
    Metric("top_long_pct", "top-trader long share", "% of top accounts", m.TOP_LS,
           _section(m.TOP_LS, lambda s: s.long_pct), minimum=0.0, maximum=100.0,
           about="share of top-trader accounts long"),
    Metric("taker_buy_pct", "taker buy share 1h", "% of taker volume", m.TAKER,
           _section(m.TAKER, _windowed("1h", lambda s: s.buy_share_pct)), minimum=0.0,
           maximum=100.0, about="taker buy share of the last hour's volume"),
    Metric("balance_change_1d", "exchange balance change 1d", PCT, m.BALANCES,
           _section(m.BALANCES, lambda s: s.change_pct_1d), minimum=-100.0, maximum=1_000.0,
           about="coins held on exchanges, change over 1 day"),
    Metric("netflow_1h", "netflow 1h", "USD", m.NETFLOW,
           _section(m.NETFLOW, lambda s: s.net_flow_usd.get("1h")), usd=True, minimum=-1e13,
           maximum=1e13, min_plan=Plan.STARTUP, about="taker buy minus sell, last hour"),
    Metric("netflow_24h", "netflow 24h", "USD", m.NETFLOW,
           _section(m.NETFLOW, lambda s: s.net_flow_usd.get("24h", s.net_flow_usd.get("1d"))),
           usd=True, minimum=-1e13, maximum=1e13, min_plan=Plan.STARTUP,
           about="taker buy minus sell, last 24 hours"),
    Metric("btc_dominance", "BTC dominance", PCT, m.DOMINANCE,
           _section(m.DOMINANCE, lambda s: s.dominance_pct), minimum=0.0, maximum=100.0,
           min_plan=Plan.STARTUP, about="Bitcoin's share of the crypto market"),
    Metric("largest_liq_1h", "largest liquidation order 1h", "USD", m.LIQUIDATION_ORDERS,
           _section(m.LIQUIDATION_ORDERS, lambda s: s.largest_usd), usd=True, minimum=0.0,
           maximum=1e13, min_plan=Plan.STANDARD,
           about="largest single forced order of the last hour"),
)
# Each metric needs at least the plan whose snapshot carries its section.
_METRICS = tuple(
    replace(metric, min_plan=max(metric.min_plan, m.SECTION_MIN_PLAN[metric.section]))
    for metric in _METRICS
)
METRICS: dict[str, Metric] = {metric.name: metric for metric in _METRICS}

ALIASES: dict[str, str] = {
    "last": "price", "px": "price",
    "funding_rate": "funding", "fr": "funding", "funding_8h": "funding", "fund": "funding",
    "open_interest": "oi", "oi_usd": "oi",
    "oi_1h": "oi_change_1h", "oi_change": "oi_change_1h", "oi_4h": "oi_change_4h",
    "oi_24h": "oi_change_24h",
    "price_change": "price_change_1h", "change_1h": "price_change_1h",
    "change_4h": "price_change_4h",
    "liq_long": "liq_long_1h", "long_liq_1h": "liq_long_1h", "long_liqs": "liq_long_1h",
    "liq_short": "liq_short_1h", "short_liq_1h": "liq_short_1h", "short_liqs": "liq_short_1h",
    "liq": "liq_1h", "liqs": "liq_1h", "liquidations": "liq_1h",
    "long_share": "long_pct", "longs": "long_pct", "long_ratio": "long_pct",
    "top_long": "top_long_pct", "top_long_share": "top_long_pct",
    "taker_buy": "taker_buy_pct", "taker": "taker_buy_pct", "buy_pct": "taker_buy_pct",
    "netflow": "netflow_1h", "dominance": "btc_dominance", "btc_dom": "btc_dominance",
    "balance_change": "balance_change_1d",
}


def metrics_for(plan: Plan) -> list[Metric]:
    """The metrics a user of ``plan`` can use, in the order they are listed."""
    return [metric for metric in _METRICS if metric.available(plan)]


def read_metric(name: str, snapshot: MarketSnapshot) -> float | None:
    """The figure ``name`` in ``snapshot``; None when missing (never 0 for missing)."""
    return METRICS[name].value(snapshot)


# --- numbers as shown --------------------------------------------------------------------

def format_price(value: float) -> str:
    """``4,000``, ``3,412.57``, ``0.5123``, ``0.00001234``: grouped; cents above 1, four
    significant figures below."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    decimals = 2 if abs(value) >= 1 else min(12, 3 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_usd(value: float) -> str:
    """``50M``, ``1.5B``, ``-20M``, ``750k``, ``500``."""
    for suffix, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.4g}{suffix}"
    return f"{value:g}"


# --- rules -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RuleSpec:
    """One rule: ``coin`` ``metric`` ``op`` ``value``, fired ``once`` or on ``repeat``."""

    coin: str
    metric: str
    op: Op
    value: float
    mode: Mode

    @property
    def info(self) -> Metric:
        return METRICS[self.metric]

    @property
    def label(self) -> str:
        """``ETH price``, ``BTC funding per 8h``."""
        return f"{self.coin} {self.info.label}"

    def describe(self) -> str:
        """``ETH price > 4,000 (once)``: how the rule is shown."""
        return f"{self.label} {self.op.value} {self.info.format(self.value)} ({self.mode.value})"

    def read(self, snapshot: MarketSnapshot) -> float | None:
        return self.info.value(snapshot)

    def holds(self, value: float | None) -> bool:
        """Whether ``value`` satisfies a comparison (always False for ``crosses``/None)."""
        if value is None:
            return False
        return {Op.GT: value > self.value, Op.LT: value < self.value,
                Op.GE: value >= self.value, Op.LE: value <= self.value}.get(self.op, False)

    def to_dict(self) -> dict[str, Any]:
        return {"coin": self.coin, "metric": self.metric, "op": self.op.value,
                "value": self.value, "mode": self.mode.value}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RuleSpec:
        """Read a stored rule; raises :class:`RuleError` for a metric no longer known."""
        if d.get("metric") not in METRICS:
            raise RuleError(f"unknown metric {d.get('metric')!r} in a stored rule")
        return cls(str(d["coin"]), str(d["metric"]), Op(d["op"]), float(d["value"]),
                   Mode(d["mode"]))


def evaluate_rule(spec: RuleSpec, previous_value: float | None,
                  current_value: float | None) -> bool:
    """Whether the rule fires now, given the figure at the previous and this evaluation.

    - a missing current value never fires;
    - ``crosses``: the previous value was on one side of the level and the current one
      reached or passed it (a previous value exactly at the level does not count, so one
      crossing fires once); a missing previous value never fires;
    - comparisons, ``once``: fire whenever the condition holds (the caller retires the rule);
    - comparisons, ``repeat``: fire when the condition holds now and did not before (a
      missing previous value counts as "did not"). Pass the last value that was known,
      not None, after a gap in the data, or a gap will look like a new crossing.
    """
    if current_value is None or not math.isfinite(current_value):
        return False
    if spec.op == Op.CROSSES:
        if previous_value is None or not math.isfinite(previous_value):
            return False
        level = spec.value
        return (previous_value < level <= current_value
                or previous_value > level >= current_value)
    if not spec.holds(current_value):
        return False
    return spec.mode == Mode.ONCE or not spec.holds(previous_value)


# --- reading what users type -------------------------------------------------------------

class RuleError(ValueError):
    """A rule that cannot be used; ``str(error)`` is a user-facing sentence (plain text).

    ``suggestions``: metric names close to a misspelt one; ``needs_plan``: the plan that
    has a metric the user's plan lacks.
    """

    def __init__(self, message: str, *, suggestions: tuple[str, ...] = (),
                 needs_plan: Plan | None = None):
        super().__init__(message)
        self.suggestions = suggestions
        self.needs_plan = needs_plan


class AmbiguousRule(RuleError):
    """The value reads two ways (``4,000``); ``choices`` holds a rule per sensible reading."""

    def __init__(self, message: str, choices: tuple[RuleSpec, ...]):
        super().__init__(message)
        self.choices = choices


def usage(plan: Plan) -> str:
    """How to write a rule, with the metrics of ``plan``: the tail of every error."""
    names = ", ".join(metric.name for metric in metrics_for(plan))
    return (f"Write SYM METRIC OP VALUE [once|repeat], e.g. ETH price > 4000 or "
            f"BTC funding < -0.03 repeat. Metrics on your {plan.title} plan: {names}. "
            f"Operators: {OPERATORS_TEXT}.")


def ensure_room(existing: int) -> None:
    """Raise :class:`RuleError` when a user with ``existing`` rules cannot add another."""
    if existing >= MAX_RULES:
        raise RuleError(f"You have {existing} rules, the most allowed is {MAX_RULES}: "
                        f"remove one first.")


def parse_rule(text: str, plan: Plan) -> RuleSpec:
    """Read ``SYM METRIC OP VALUE [once|repeat]`` for a user of ``plan``.

    Raises :class:`RuleError` naming what is accepted, or :class:`AmbiguousRule`.
    """
    tail = usage(plan)
    s = unicodedata.normalize("NFKC", text or "").strip()
    if not s:
        raise RuleError(f"No rule given. {tail}")
    if len(s) > MAX_LENGTH:
        raise RuleError(f"That is too long for a rule. {tail}")
    tokens = _OP_SYMBOLS.sub(r" \1 ", s).split()
    if len(tokens) < 3:
        raise RuleError(f"A rule needs a coin, a figure, a comparison and a number. {tail}")

    coin = _coin(tokens[0], tail)
    if tokens[1].lower() in _OPS or tokens[1].lower() in _EQUALS:
        metric, rest = METRICS["price"], tokens[1:]
    else:
        metric, rest = _metric(tokens[1], plan, tail), tokens[2:]
    if not rest:
        raise RuleError(f"A rule needs a comparison and a number after {metric.name}. {tail}")
    op = _op(rest[0], tail)
    words = rest[1:]
    if words and (words[0].lower() in _OPS or words[0].lower() in _EQUALS):
        raise RuleError(f"{rest[0]}{words[0]} is not a comparison: use one of them. "
                        f"Operators: {OPERATORS_TEXT}. {tail}")
    mode = metric.default_mode
    if words and words[-1].lower() in {md.value for md in Mode}:
        mode = Mode(words.pop().lower())
    if not words:
        raise RuleError(f"A rule needs a number after {op.value}. {tail}")
    if len(words) > 1 and words[-1].isalpha() and words[-1].lower() not in ("k", "m", "b"):
        shown = words[-1] if len(words[-1]) <= 24 else words[-1][:24] + "…"
        raise RuleError(f"A rule ends with its number, then once or repeat if you like; "
                        f"{shown} is neither. {tail}")
    value_text = " ".join(words)
    readings, sensible = _values(value_text, metric, tail)
    choices = tuple(RuleSpec(coin, metric.name, op, v, mode) for v in sensible)
    if len(readings) == 1:
        return choices[0]
    first, second = (_unambiguous(metric, v) for v in readings)
    if len(choices) == 2:
        question = f"send {first} or {second} to say which"
    else:
        only = _unambiguous(metric, sensible[0])
        question = f"only {only} makes sense for {metric.name}, send {only} if you meant it"
    raise AmbiguousRule(f"{value_text} could be {first} or {second}; {question}.", choices)


def _coin(token: str, tail: str) -> str:
    parsed = parse_coins(token)
    if parsed.malformed or len(parsed.coins) != 1:
        raise RuleError(f"A rule starts with one coin symbol, like ETH. {tail}")
    return parsed.coins[0]


def _metric(token: str, plan: Plan, tail: str) -> Metric:
    key = token.lower().replace("-", "_")
    name = key if key in METRICS else ALIASES.get(key)
    if name is None:
        shown = token if len(token) <= 24 else token[:24] + "…"
        candidates = list(METRICS) + list(ALIASES)
        close = []
        for match in difflib.get_close_matches(key, candidates, n=5, cutoff=0.6):
            found = ALIASES.get(match, match)
            if found not in close and METRICS[found].available(plan):
                close.append(found)
        hint = f" Did you mean {' or '.join(close[:3])}?" if close else ""
        raise RuleError(f"I don't know the figure {shown}.{hint} {tail}",
                        suggestions=tuple(close[:3]))
    metric = METRICS[name]
    if not metric.available(plan):
        instead = METRICS.get(metric.instead or "")
        offer = (f"; {instead.name} is on yours" if instead and instead.available(plan)
                 else "")
        if plan < metric.min_plan:
            raise RuleError(f"{metric.name} needs the {metric.min_plan.title} plan or higher "
                            f"(you have {plan.title}){offer}. {tail}",
                            needs_plan=metric.min_plan)
        raise RuleError(f"{metric.name} is only in the {metric.max_plan.title} snapshot"
                        f"{offer}. {tail}")
    return metric


def _op(token: str, tail: str) -> Op:
    key = token.lower()
    if key in _OPS:
        return _OPS[key]
    if key in _EQUALS:
        raise RuleError(f"A figure is never exactly equal to a level: use crosses "
                        f"(e.g. BTC price crosses 100000). Operators: {OPERATORS_TEXT}.")
    shown = token if len(token) <= 24 else token[:24] + "…"
    raise RuleError(f"{shown} is not a comparison. Operators: {OPERATORS_TEXT}. {tail}")


def _unambiguous(metric: Metric, value: float) -> str:
    """``value`` as a user would type it for ``metric``, in a form read only one way."""
    text = format_usd(value) if metric.usd and metric.name != "price" else plain(value)
    try:
        parsed = parse_number(text, suffixes=True)
    except NumberError:
        return plain(value)
    return text if not isinstance(parsed, Ambiguous) else plain(value)


def _values(text: str, metric: Metric, tail: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The readings of ``text`` (two when ambiguous) and those that make sense for ``metric``."""
    try:
        parsed = parse_number(text, suffixes=metric.usd, percent=not metric.usd)
    except NumberError as exc:
        raise RuleError(f"{metric.name} needs a number ({metric.unit}): {exc.reason}. "
                        f"{exc.accepted}.") from None
    readings = parsed.readings if isinstance(parsed, Ambiguous) else (parsed,)
    sensible = tuple(v for v in readings if metric.minimum <= v <= metric.maximum)
    if not sensible:
        raise RuleError(f"{metric.name} ({metric.about}) must be from "
                        f"{metric.format(metric.minimum)} to {metric.format(metric.maximum)}. "
                        f"{tail}")
    return readings, sensible
