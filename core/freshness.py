"""How often each figure is worth fetching, and what a user's figures cost per minute.

CoinGlass refreshes its data at documented paces (coinglass-v4.md §13.1); asking more often
spends the key's budget for nothing. Every request a poll can make is a :class:`Source`
here, with its pace and the reason for it. This table is the one place paces live:
:mod:`core.snapshot` fetches a source only when it is stale, and :func:`steady_cost` /
:func:`required_interval` (the budget) count exactly the same sources.

Fast sources (pace ≤ ``FAST_PACE``) are fetched on every poll: they carry the figures a
cascade shows up in first (liquidations, open interest and, through the OI list, price). A
slow source is due on the poll nearest to its pace; it is fetched when the poll has room for it
within its share of the key's window (``Budget.per_poll``), else on a later poll, and its value
is kept, with its time, until it is ``max_age`` old; then it is missing, never used stale.

The key's limit is a sliding 60 s window, so the budget counts, for fast sources, the most
fetches any 60 s window can hold (``ceil(60 / period)``) — three polls 23 s apart all fall in
one window — and, for slow ones (spread over polls as room allows), their average rate.

Measured on the recorded capture (2025-11-14, coinglass-recorded/): the forming 4 h candle of
``open-interest/aggregated-history`` closed at 67,130,599,066.2341, exactly the
``open-interest/exchange-list`` "All" value of the same minute, and the forming price candle
(16:00 UTC, 10 minutes old, 3 % of the previous candle's volume) closed at the live price.
So a forming candle moves at the pace of the list beneath it; its *past* candles do not, which
is why a price reference (the close one window ago) is a slow source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from core import market as m
from core.coinglass import paths
from core.plans import Plan

FAST_PACE = 10.0            # CoinGlass's refresh of its OI and liquidation lists
MIN_AUTO_INTERVAL = 10      # polling faster than CoinGlass refreshes buys nothing
HEADROOM = 0.9              # share of the key's limit polling may use (the rest: commands)
SLOW_GRACE = 2.0            # a slow value is usable until SLOW_GRACE × its pace old

# Sources whose one request serves every coin of the key.
KEY_WIDE = "key"
PER_COIN = "coin"


@dataclass(frozen=True)
class Source:
    name: str
    path: str
    scope: str                  # KEY_WIDE or PER_COIN
    pace: float                 # seconds: fetched no more often than this
    sections: tuple[str, ...]   # what it feeds
    reason: str

    @property
    def fast(self) -> bool:
        return self.pace <= FAST_PACE

    @property
    def max_age(self) -> float:
        return self.pace * SLOW_GRACE


def _s(name, path, scope, pace, sections, reason) -> Source:
    return Source(name, path, scope, float(pace), tuple(sections), reason)


# name → source. Paces are settings of this table and nothing else.
SOURCES: dict[str, Source] = {s.name: s for s in (
    _s("oi", paths.OI_EXCHANGE_LIST, PER_COIN, 10, [m.OPEN_INTEREST, m.PRICE],
       "CoinGlass refreshes OI every 10 s; the All row's USD / quantity is the live price"),
    _s("liquidations", paths.LIQUIDATION_EXCHANGE_LIST, PER_COIN, 10, [m.LIQUIDATIONS],
       "refreshed every 10 s; a cascade shows here first"),
    _s("taker", paths.TAKER_EXCHANGE_LIST, PER_COIN, 60, [m.TAKER],
       "a 1 h buy/sell total (refreshed every 1 s) that moves over minutes; read once a minute "
       "it leaves a Hobbyist key room to poll liquidations and OI every 20 s, not 30"),
    _s("markets", paths.COINS_MARKETS, KEY_WIDE, 10,
       [m.OPEN_INTEREST, m.LIQUIDATIONS, m.PRICE],
       "Standard+: price, OI and liquidations of every coin in one request (≈ 10 s, assumed "
       "like the lists)"),
    _s("oi_weights", paths.OI_EXCHANGE_LIST, PER_COIN, 300, [m.FUNDING],
       "Standard+: venue shares of OI only weight the funding average; they drift slowly"),
    _s("price_ref", paths.PRICE_HISTORY, PER_COIN, 300, [m.PRICE],
       "the close one window ago is fixed for the candle; re-anchors the live price"),
    _s("funding_list", paths.FUNDING_EXCHANGE_LIST, KEY_WIDE, 60, [m.FUNDING],
       "refreshed every 20 s; the rate settles over 1–8 h, so once a minute is plenty"),
    _s("funding_pairs", paths.PAIRS_MARKETS, PER_COIN, 60, [m.FUNDING],
       "the same funding per venue for one coin: a few KB instead of the ≈2.4 MB all-coins list"),
    _s("global_ls", paths.GLOBAL_LONG_SHORT_HISTORY, PER_COIN, 300, [m.GLOBAL_LS],
       "account ratios move over minutes (5 m candles at best)"),
    _s("top_ls", paths.TOP_LONG_SHORT_ACCOUNT_HISTORY, PER_COIN, 300, [m.TOP_LS],
       "as the retail ratio"),
    _s("balances", paths.EXCHANGE_BALANCE_LIST, PER_COIN, 900, [m.BALANCES],
       "on-chain balances, compared per day"),
    _s("dominance", paths.BITCOIN_DOMINANCE, KEY_WIDE, 3600, [m.DOMINANCE],
       "CoinGlass refreshes it daily"),
    _s("netflow", paths.COIN_NETFLOW, PER_COIN, 300, [m.NETFLOW],
       "flows over 1 h and more; 5 minutes keeps the 1 h figure current"),
    _s("cvd", paths.AGGREGATED_CVD_HISTORY, PER_COIN, 300, [m.CVD], "1 h candles"),
    _s("whales", paths.HYPERLIQUID_WHALE_ALERT, KEY_WIDE, 60, [m.WHALES],
       "real time at CoinGlass; one feed for all coins, read once a minute"),
    _s("walls", paths.LARGE_LIMIT_ORDER, PER_COIN, 30, [m.WALLS],
       "real time; walls that matter stand for minutes"),
    _s("liquidation_orders", paths.LIQUIDATION_ORDER, PER_COIN, 10, [m.LIQUIDATION_ORDERS],
       "refreshed every 1 s"),
    _s("clusters", paths.LIQUIDATION_AGGREGATED_MAP, PER_COIN, 300, [m.CLUSTERS],
       "a map of leverage built over a day"),
)}

# The section each source needs before it is worth asking (plan gates, SPEC §7).
SECTION_OF_SOURCE: dict[str, str] = {
    "netflow": m.NETFLOW, "cvd": m.CVD, "whales": m.WHALES, "dominance": m.DOMINANCE,
    "walls": m.WALLS, "liquidation_orders": m.LIQUIDATION_ORDERS, "clusters": m.CLUSTERS,
    "balances": m.BALANCES, "global_ls": m.GLOBAL_LS, "top_ls": m.TOP_LS,
}

FUNDING_LIST = "funding_list"
FUNDING_PAIRS = "funding_pairs"


def uses_markets(plan: Plan) -> bool:
    """Standard+ reads price, OI and liquidations of all coins from ``coins-markets``."""
    return plan >= Plan.STANDARD


def sources_for(plan: Plan, funding: str = FUNDING_LIST,
                disabled: frozenset[str] = frozenset()) -> list[Source]:
    """The sources one user's poll draws on, for their plan and funding choice."""
    names = ["taker", funding]
    names += ["markets", "oi_weights"] if uses_markets(plan) else ["oi", "liquidations",
                                                                  "price_ref"]
    for name, section in SECTION_OF_SOURCE.items():
        if plan >= m.SECTION_MIN_PLAN[section]:
            names.append(name)
    return [SOURCES[n] for n in names if SOURCES[n].path not in disabled]


def fetch_period(source: Source, interval: float) -> float:
    """Seconds between two fetches of ``source`` when polled every ``interval`` s (at most):
    every poll for fast sources, else the first poll at which it is ``pace − interval/2``
    old (the poll nearest its pace)."""
    if source.fast:
        return interval
    due_after = source.pace - interval / 2
    return interval * max(1, math.ceil(due_after / interval))


def stale(source: Source, age: float | None, interval: float) -> bool:
    """Whether a poll now should fetch ``source`` whose value is ``age`` s old."""
    if source.fast or age is None:
        return True
    return age >= source.pace - interval / 2 - 0.25


def steady_cost(sources: Iterable[Source], coins: int, interval: float) -> float:
    """Requests per minute, steady state, when polling every ``interval`` s (average)."""
    total = 0.0
    for source in sources:
        per_fetch = coins if source.scope == PER_COIN else 1
        total += per_fetch * 60.0 / fetch_period(source, interval)
    return total


def per_fetch(source: Source, coins: int) -> int:
    return coins if source.scope == PER_COIN else 1


def polls_per_window(interval: float) -> int:
    """The most polls one sliding 60 s window can hold."""
    return max(1, math.ceil(60.0 / interval - 1e-9))


def fast_per_poll(sources: Iterable[Source], coins: int) -> int:
    return sum(per_fetch(s, coins) for s in sources if s.fast)


def window_cost(sources: Iterable[Source], coins: int, interval: float) -> float:
    """Requests the busiest 60 s window holds: fast sources at their worst, slow ones (spread
    over polls as room allows) at their average."""
    sources = list(sources)
    if interval >= 60:
        # One poll per window at most; a poll bigger than the window is spread by the limiter.
        return steady_cost(sources, coins, interval)
    fast = fast_per_poll(sources, coins) * polls_per_window(interval)
    slow = sum(per_fetch(s, coins) * 60.0 / fetch_period(s, interval)
               for s in sources if not s.fast)
    return fast + slow


def usable_per_minute(per_minute: int) -> int:
    return max(1, math.floor(per_minute * HEADROOM))


def required_interval(sources: list[Source], coins: int, per_minute: int,
                      floor: int = 1) -> int:
    """The shortest whole-second interval ≥ ``floor`` whose steady cost fits the budget."""
    if coins <= 0:
        return floor
    budget = usable_per_minute(per_minute)
    # Window cost falls (not strictly) as the interval grows: scan up, then by doubling.
    interval = floor
    while interval <= 600:
        if window_cost(sources, coins, interval) <= budget:
            return interval
        interval += 1
    while window_cost(sources, coins, interval) > budget:
        interval *= 2
        if interval > 86400:
            return 86400
    return interval


def funding_choice(plan: Plan, coins: int, per_minute: int, floor: int,
                   disabled: frozenset[str] = frozenset()) -> str:
    """List or per-coin pairs for funding: per-coin requests weigh a few KB against the
    ≈2.4 MB all-coins list, so take them whenever they do not lengthen the interval."""
    by_list = required_interval(sources_for(plan, FUNDING_LIST, disabled), coins, per_minute,
                                floor)
    by_pairs = required_interval(sources_for(plan, FUNDING_PAIRS, disabled), coins,
                                 per_minute, floor)
    if paths.PAIRS_MARKETS in disabled:
        return FUNDING_LIST
    return FUNDING_PAIRS if by_pairs <= by_list else FUNDING_LIST


def pace_table() -> list[tuple[str, str, float, str]]:
    """(source, path, pace s, reason) for README and /admin."""
    return [(s.name, s.path, s.pace, s.reason) for s in SOURCES.values()]
