"""The signal engine: one market snapshot and one user's thresholds in, an Evaluation out.

Pure: no I/O, no clock, no Telegram. Usage::

    from core.signals.engine import evaluate
    result = evaluate(snapshot, thresholds, enabled={"funding_extreme", "oi_surge"})

Missing data is never read as a calm market. A rule runs only when every section it needs is
present; otherwise it is listed in ``Evaluation.unevaluated`` as ``"no funding (error:
timeout)"`` — unless a section is missing because the user's plan does not include it
(``MissingReason.NOT_IN_PLAN``), which is expected and not worth a line. A present section that
lacks the one value a rule reads (e.g. no 1h OI change) is reported the same way.

The OI × price regime is read whenever OI and price are present, whether or not the
``oi_price_regime`` signal is enabled: its modifiers are context for every other signal.
"""

from __future__ import annotations

from typing import Callable, Collection, Mapping

from core.market import (
    BALANCES, CLUSTERS, DOMINANCE, FUNDING, GLOBAL_LS, LIQUIDATIONS, NETFLOW, OPEN_INTEREST,
    PRICE, SECTION_MIN_PLAN, SECTION_TITLES, TAKER, TOP_LS, WALLS, WHALES, MarketSnapshot,
    MissingReason,
)
from core.signals import gated, rules
from core.signals.catalog import SIGNALS
from core.signals.confidence import apply
from core.signals.finding import Finding, Unavailable
from core.signals.model import Direction, Evaluation, RegimeReading, Signal
from core.signals.regime import (
    REGIME_SIGNAL, oi_conflict, read_regime, regime_modifiers, regime_signal,
)
from core.thresholds import ThresholdSet

Rule = Callable[[MarketSnapshot, Mapping[str, float]], "Finding | Unavailable | None"]

# signal id -> (sections it needs, rule). ``None`` marks the regime signal, which the engine
# derives from the regime reading it computes once per evaluation.
_RULES: dict[str, tuple[tuple[str, ...], Rule | None]] = {
    "funding_extreme": ((FUNDING,), rules.funding_extreme),
    "oi_surge": ((OPEN_INTEREST,), rules.oi_surge),
    "liquidation_cascade": ((LIQUIDATIONS,), rules.liquidation_cascade),
    "ls_extreme": ((GLOBAL_LS,), rules.ls_extreme),
    "smart_money_divergence": ((GLOBAL_LS, TOP_LS), rules.smart_money_divergence),
    "taker_bias": ((TAKER,), rules.taker_bias),
    REGIME_SIGNAL: ((OPEN_INTEREST, PRICE), None),
    "exchange_balance": ((BALANCES,), gated.exchange_balance),
    "netflow": ((NETFLOW,), gated.netflow),
    "btc_dominance": ((DOMINANCE,), gated.btc_dominance),
    "whale_position": ((WHALES,), gated.whale_position),
    "orderbook_wall": ((WALLS, PRICE), gated.orderbook_wall),
    "liquidation_cluster": ((CLUSTERS, PRICE), gated.liquidation_cluster),
}

# Catalogue order, so alerts list signals the same way every time.
RULES: tuple[tuple[str, tuple[str, ...], Rule | None], ...] = tuple(
    (s.id, *_RULES[s.id]) for s in SIGNALS
)
SIGNAL_SECTIONS: dict[str, tuple[str, ...]] = {sid: sections for sid, sections, _ in RULES}
assert set(_RULES) == {s.id for s in SIGNALS}, "every catalogued signal needs a rule"

_NEUTRAL = Direction.NEUTRAL
_NOT_IN_PLAN = MissingReason.NOT_IN_PLAN


def _absent(snap: MarketSnapshot, sections: tuple[str, ...]) -> str | None:
    """Why a rule with an absent section cannot run: ``"no funding (error: timeout)"``, or ""
    when a section is outside the user's plan (expected, so not worth a line)."""
    reasons = None
    for name in sections:
        if getattr(snap, name) is not None:
            continue
        missing = snap.missing.get(name)
        if missing is None:
            if snap.plan < SECTION_MIN_PLAN[name]:
                return ""
            why = "not fetched"
        elif missing.reason is _NOT_IN_PLAN:
            return ""
        else:
            why = missing.describe()
        line = f"no {SECTION_TITLES[name]} ({why})"
        reasons = line if reasons is None else f"{reasons}; {line}"
    return reasons


def evaluate(
    snapshot: MarketSnapshot,
    thresholds: ThresholdSet,
    *,
    enabled: Collection[str] | None = None,
) -> Evaluation:
    """Every enabled signal that fires on ``snapshot`` under ``thresholds``.

    ``enabled=None`` evaluates every signal; otherwise only the ids given. Never raises on
    missing sections: they are skipped and reported in ``Evaluation.unevaluated``.
    """
    t = thresholds.values
    reading: RegimeReading | None = None
    regime_gap: Unavailable | None = None
    if snapshot.open_interest is not None and snapshot.price is not None:
        r = read_regime(snapshot, t)
        if r.__class__ is Unavailable:
            regime_gap = r
        else:
            reading = r

    findings: list[Finding] = []
    unevaluated: dict[str, str] = {}
    for sid, sections, rule in RULES:
        if enabled is not None and sid not in enabled:
            continue
        present = True
        for name in sections:               # a loop, not all(): this runs 13 times per call
            if getattr(snapshot, name) is None:
                present = False
                break
        if not present:
            gap = _absent(snapshot, sections)
            if gap:
                unevaluated[sid] = gap
            continue
        if rule is None:
            out = regime_gap if reading is None else regime_signal(snapshot, t, reading)
        else:
            out = rule(snapshot, t)
        if out is None:
            continue
        if out.__class__ is Unavailable:
            unevaluated[sid] = str(out)
            continue
        findings.append(out)

    signals: tuple[Signal, ...] = ()
    if findings:
        favours, agree, oppose = regime_modifiers(reading)
        conflict = oi_conflict(snapshot.open_interest)
        coin = snapshot.coin
        built = []
        for f in findings:
            direction = f.direction
            if agree is not None and direction is not _NEUTRAL and f.id != REGIME_SIGNAL:
                mods = (agree if direction is favours else oppose,)
                if conflict is not None:
                    mods += (conflict,)
            elif conflict is not None:
                mods = (conflict,)
            else:
                mods = ()
            built.append(Signal(f.id, coin, f.level, direction, f.title, f.text,
                                apply(f.base, mods), f.values, mods, f.data_time))
        signals = tuple(built)
    return Evaluation(snapshot.coin, signals, reading, unevaluated)
