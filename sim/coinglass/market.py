"""The scriptable market behind the CoinGlass simulator.

Each coin is a set of :mod:`series <sim.coinglass.series>` (price, open interest, funding,
long/short shares, taker flow, liquidations, exchange balance) built from a calm, deterministic
baseline seeded by the coin's name. Scripting adds steps or events at ``now``; every endpoint
reads the same series, so snapshots and histories agree.

Units: prices in USD, open interest and flows in USD, funding in percent per 8 h (venues with
other intervals report it pro rata), long/short and taker shares in percent, balances in coins.
Values set on the market are whole-market values; endpoints with ``exchange_list`` report the
listed venues' share of them.

Scripted liquidations are individual orders (:class:`LiquidationOrder`) on named venues: the
REST totals, per-venue rows, order lists and the WebSocket stream all read the same orders, so
stream and poll see one market. The calm background liquidation *rate* is spread over venues
by their share and has no individual orders.

``version`` and :meth:`Market.changed_since` let response caches tell whether an edit touched
the past they served (a step scripted at now cannot change a body computed for an earlier time).
"""

from __future__ import annotations

import copy
import heapq
import math
import time
from bisect import bisect_left, insort
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from sim.coinglass import scenarios
from sim.coinglass import universe as u
from sim.coinglass.series import Flow, Series, TakerFlow, term, wave

HOUR = 3600.0
DAY = 86400.0


@dataclass(frozen=True)
class Whale:
    time: float
    coin: str
    user: str
    value_usd: float
    side: str            # "long" | "short"
    action: str          # "open" | "close"
    price: float


@dataclass(frozen=True)
class Wall:
    time: float
    coin: str
    exchange: str
    side: str            # "bid" | "ask"
    price: float
    usd: float
    id: int


@dataclass(frozen=True)
class Cluster:
    time: float
    coin: str
    price: float
    usd: float


@dataclass(frozen=True, order=True)
class LiquidationOrder:
    """One forced order: ``side`` is the position liquidated (``long``/``short``)."""

    time: float
    coin: str
    exchange: str
    side: str
    usd: float
    price: float


SIDES = ("long", "short")


def _order_time(order: LiquidationOrder) -> float:
    return order.time

# How scripted liquidations are cut into orders: a venue's part of an event goes out as three
# orders of 50/30/20 %; a cascade unfolds in tranches (offset seconds, part of the total).
_ORDER_PARTS = (0.5, 0.3, 0.2)
CASCADE_TRANCHES = ((0.0, 0.40), (0.5, 0.25), (1.0, 0.15), (1.5, 0.12), (2.0, 0.08))
_MAX_EDITS = 10_000


def price_decimals(reference_price: float) -> int:
    """Decimals a venue quotes a coin at: 1 for BTC, 2 for ETH, 3 for SOL, more for small coins."""
    return max(1, min(10, 5 - math.floor(math.log10(reference_price))))


@dataclass
class CoinState:
    """Every series of one coin."""

    profile: u.CoinProfile
    price: Series
    oi: Series
    funding_base: Series                  # %/8h shared by every venue
    funding_spread: Series                # 1 = calm per-venue offsets, 0 = all venues equal
    long_pct: Series
    top_long_pct: Series
    top_position_long_pct: Series
    taker: TakerFlow
    liq_long: Flow
    liq_short: Flow
    balance: Series                       # coins on exchanges, before per-venue wiggles
    funding_adjust: dict[str, Series] = field(default_factory=dict)
    walls: list[Wall] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    orders: list[LiquidationOrder] = field(default_factory=list)     # by time
    _offsets: dict[tuple[str, str], float] = field(default_factory=dict)

    def funding_offset(self, venue: str, margin: str) -> float:
        """A venue's calm funding offset from the coin's level, percent per 8 h."""
        key = (venue, margin)
        offset = self._offsets.get(key)
        if offset is None:
            offset = self._offsets[key] = 0.002 * u.spread(self.symbol, venue, margin)
        return offset

    def flow(self, side: str) -> Flow:
        return self.liq_long if side == "long" else self.liq_short

    @property
    def symbol(self) -> str:
        return self.profile.symbol

    @property
    def decimals(self) -> int:
        return price_decimals(self.profile.price)

    @classmethod
    def calm(cls, p: u.CoinProfile) -> CoinState:
        s = p.symbol

        def r(name: str) -> float:
            return u.unit(s, name)

        long_level = 53.5 + 3.0 * r("long")
        balance_usd = p.open_interest_usd * (3.3 if s == "BTC" else 1.5)
        return cls(
            profile=p,
            price=Series(p.price, [term(0.004, 26 * HOUR, r("p1")),
                                   term(0.0015, 3.3 * HOUR, r("p2")), term(0.0004, 1380, r("p3"))]),
            oi=Series(p.open_interest_usd, [term(0.003, 30 * HOUR, r("o1")),
                                            term(0.001, 5 * HOUR, r("o2"))]),
            funding_base=Series(p.funding_level if p.funding_level is not None
                                else 0.0095 + 0.001 * r("f0"),
                                [term(0.0012, 9 * HOUR, r("f1"))], relative=False),
            funding_spread=Series(1.0, relative=False),
            long_pct=Series(long_level, [term(0.8, 17 * HOUR, r("l1"))], relative=False),
            top_long_pct=Series(long_level + 2.5 * u.spread(s, "top"),
                                [term(0.5, 11 * HOUR, r("t1"))], relative=False),
            top_position_long_pct=Series(long_level - 2.0 + 3.0 * u.spread(s, "pos"),
                                         [term(0.6, 13 * HOUR, r("tp1"))], relative=False),
            taker=TakerFlow(3e9 / HOUR * p.size * (0.8 + 0.4 * r("vol")),
                            [term(0.35, DAY, r("v1")), term(0.15, 5 * HOUR, r("v2"))],
                            49.6 + 0.8 * r("share"), [term(0.3, 7 * HOUR, r("s1"))]),
            liq_long=Flow(1.6e6 / HOUR * p.size * (0.8 + 0.4 * r("ll")),
                          [term(0.6, 7 * HOUR, r("ll1")), term(0.3, 2.1 * HOUR, r("ll2"))]),
            liq_short=Flow(1.2e6 / HOUR * p.size * (0.8 + 0.4 * r("ls")),
                           [term(0.6, 6 * HOUR, r("ls1")), term(0.3, 1.7 * HOUR, r("ls2"))]),
            balance=Series(balance_usd / p.price, [term(0.0015, 9 * DAY, r("b1")),
                                                   term(0.0005, 30 * HOUR, r("b2"))]),
        )


def _dominance() -> Series:
    return Series(58.4, [term(8.0, 1461 * DAY, 0.1), term(0.15, 5 * DAY, 0.3),
                         term(0.05, 29 * HOUR, 0.7)], relative=False)


class Market:
    """A deterministic, scriptable derivatives market; every change is effective ``now``."""

    def __init__(self, clock: Callable[[], float] = time.time,
                 coins: Iterable[u.CoinProfile] | None = None):
        """``coins`` defaults to the whole universe: the 24 scripted coins and the synthetic
        ones (925 in all, :mod:`sim.coinglass.universe`)."""
        self._clock = clock
        self._shift = 0.0
        self._profiles: dict[str, u.CoinProfile] = {
            p.symbol: p for p in (u.ALL_COINS if coins is None else coins)}
        self._coins: dict[str, CoinState] = {}         # built on first use
        self._symbols = frozenset(self._profiles)
        self.dominance_series = _dominance()
        self.whales: list[Whale] = []
        self.version = 0          # bumped on every change
        self._edits: list[tuple[int, float]] = []       # (version, earliest time it changed)
        self._listeners: list[Callable[[], None]] = []
        self._scheduled: list[LiquidationOrder] = []    # announced when due (a heap)

    # -- time and universe ---------------------------------------------------------------

    def now(self) -> float:
        return self._clock() + self._shift

    def at(self, t: float) -> Market:
        """A read-only view of this market whose ``now`` is ``t``: what an endpoint that last
        refreshed at ``t`` serves. It shares every series, so later edits at times ≤ t show."""
        view = copy.copy(self)
        view._clock = lambda: t
        view._shift = 0.0
        return view

    def time_shift(self, seconds: float) -> None:
        """Move the market's clock (not the rate limiter's) by ``seconds``."""
        self._shift += seconds
        self._edited(-math.inf)

    def changed_since(self, version: int, through: float) -> bool:
        """Whether an edit after ``version`` changed the market at or before ``through``."""
        if version >= self.version:
            return False
        if not self._edits or self._edits[0][0] > version + 1:
            return True                              # edits forgotten: assume the worst
        for v, t in reversed(self._edits):
            if v <= version:
                return False
            if t <= through:
                return True
        return False

    def _edited(self, t: float) -> None:
        self.version += 1
        self._edits.append((self.version, t))
        if len(self._edits) > _MAX_EDITS:
            del self._edits[: len(self._edits) - _MAX_EDITS]

    def coins(self) -> list[str]:
        return list(self._profiles)

    @property
    def symbols(self) -> frozenset[str]:
        return self._symbols

    def has(self, coin: str) -> bool:
        return coin in self._profiles

    def profile(self, coin: str) -> u.CoinProfile:
        return self.state(coin).profile

    def state(self, coin: str) -> CoinState:
        state = self._coins.get(coin)
        if state is None:
            try:
                profile = self._profiles[coin]
            except KeyError:
                raise ValueError(f"unknown coin {coin!r}; known: "
                                 f"{', '.join(list(self._profiles)[:30])}, ...") from None
            state = self._coins[coin] = CoinState.calm(profile)
        return state

    def add_coin(self, symbol: str, *, price: float, open_interest_usd: float) -> None:
        self._profiles[symbol] = u.CoinProfile(symbol, price, open_interest_usd)
        self._coins.pop(symbol, None)
        self._symbols = frozenset(self._profiles)
        self._edited(-math.inf)

    def reset(self, coin: str) -> None:
        """Back to the calm baseline, history included (the ``calm`` scenario)."""
        state = self.state(coin)
        self._coins[coin] = CoinState.calm(state.profile)
        self.whales = [w for w in self.whales if w.coin != coin]
        if coin == "BTC":
            self.dominance_series = _dominance()
        self._scheduled = [o for o in self._scheduled if o.coin != coin]
        heapq.heapify(self._scheduled)
        self._edited(-math.inf)

    # -- scripting -----------------------------------------------------------------------

    def set(self, coin: str, *, price: float | None = None,
            open_interest_usd: float | None = None, funding_pct: float | None = None,
            funding: Mapping[str, float] | None = None, long_pct: float | None = None,
            top_long_pct: float | None = None, top_position_long_pct: float | None = None,
            taker_buy_share: float | None = None, balance_change_pct_1d: float | None = None,
            dominance: float | None = None, netflow_usd_1h: float | None = None) -> None:
        """Step values at now. ``funding_pct`` sets every venue (per 8 h), ``funding`` single
        venues (per 8 h). ``taker_buy_share`` (percent, or a fraction ≤ 1) and
        ``netflow_usd_1h`` also add a block trade now so the trailing hour shows them at once.
        """
        c = self.state(coin)
        t = self.now()
        if price is not None:
            c.price.set(t, price)
        if open_interest_usd is not None:
            c.oi.set(t, open_interest_usd)
        if funding_pct is not None:
            c.funding_base.set(t, funding_pct)
            c.funding_spread.set(t, 0.0)
            for adjust in c.funding_adjust.values():
                adjust.set(t, 0.0)
        for name, pct in (funding or {}).items():
            venue = self._funding_venue(name)
            adjust = c.funding_adjust.setdefault(venue, Series(0.0, relative=False))
            current = self.funding_8h(coin, venue, t=t, listed_only=False)
            adjust.set(t, adjust.at(t) + pct - current)
        for series, value in ((c.long_pct, long_pct), (c.top_long_pct, top_long_pct),
                              (c.top_position_long_pct, top_position_long_pct)):
            if value is not None:
                series.set(t, value)
        if taker_buy_share is not None:
            share = taker_buy_share * 100.0 if taker_buy_share <= 1.0 else taker_buy_share
            c.taker.share.set(t, share)
            self._hold_taker_share(c, t, share / 100.0)
        if balance_change_pct_1d is not None:
            before = self.exchange_balance_total(coin, t - DAY)
            target = before * (1.0 + balance_change_pct_1d / 100.0)
            c.balance.set(t, c.balance.at(t) * target / self.exchange_balance_total(coin, t))
        if dominance is not None:
            self.dominance_series.set(t, dominance)
        if netflow_usd_1h is not None:
            buy, sell = c.taker.totals(t - HOUR, None, t)
            gap = netflow_usd_1h - (buy - sell)
            (c.taker.buys if gap > 0 else c.taker.sells).add(t, abs(gap))
        self._edited(t)

    def move(self, coin: str, *, price_pct: float = 0.0, oi_pct: float = 0.0) -> None:
        """Relative steps now: ``price_pct=-6`` drops the price by 6 %."""
        c = self.state(coin)
        t = self.now()
        if price_pct:
            c.price.scale(t, 1.0 + price_pct / 100.0)
        if oi_pct:
            c.oi.scale(t, 1.0 + oi_pct / 100.0)
        self._edited(t)

    def liquidate(self, coin: str, *, long_usd: float = 0.0, short_usd: float = 0.0,
                  unfold_s: float = 0.0) -> list[LiquidationOrder]:
        """A liquidation event now, whole market: each venue gets its share as three orders
        (50/30/20 %). With ``unfold_s`` the event unfolds in five tranches over that many
        seconds (40/25/15/12/8 %), each public — on REST and the stream — at its own time."""
        self.state(coin)
        tranches = ((0.0, 1.0),) if unfold_s <= 0 else tuple(
            (offset / CASCADE_TRANCHES[-1][0] * unfold_s, part)
            for offset, part in CASCADE_TRANCHES)
        orders = self._event_orders(coin, self.now(), long_usd, short_usd, tranches)
        self._book(orders, announce=True)
        return orders

    def _event_orders(self, coin: str, t: float, long_usd: float, short_usd: float,
                      tranches: tuple[tuple[float, float], ...] = ((0.0, 1.0),)
                      ) -> list[LiquidationOrder]:
        orders = []
        for side, amount in (("long", long_usd), ("short", short_usd)):
            if amount <= 0:
                continue
            for offset, part in tranches:
                for venue, share in u.shares(coin, "liq"):
                    orders.extend(self._order(coin, venue, side, amount * part * share * piece,
                                              t + offset)
                                  for piece in _ORDER_PARTS)
        return orders

    def script_history(self, coin: str, at: float, *, until: float | None = None,
                       price_pct: float = 0.0, oi_change_pct: float = 0.0,
                       funding_pct: float | None = None, long_pct: float | None = None,
                       top_long_pct: float | None = None,
                       top_position_long_pct: float | None = None,
                       liquidation_long_usd: float = 0.0,
                       liquidation_short_usd: float = 0.0) -> None:
        """A known episode in the past, so a replay over history has known threshold crossings.

        At ``at`` (seconds, not after now) the price and open interest step by ``price_pct``
        / ``oi_change_pct`` percent, funding (every venue, percent per 8 h) and the long
        shares (percent) jump to the given values, and liquidations worth the given USD happen
        (as orders on the coin's venues, not streamed: they are history). The steps hold until
        ``until`` (then everything returns to where it would have been) or, with
        ``until=None``, for good — so the current values move too and the last candle still
        agrees with the snapshots. Steps land on top of anything scripted later, so script
        history before scripting the present.
        """
        now = self.now()
        if at > now:
            raise ValueError("script_history is for the past: 'at' is after now")
        if until is not None and until <= at:
            raise ValueError("'until' must be after 'at'")
        c = self.state(coin)
        if price_pct:
            c.price.shift(at, until, 1.0 + price_pct / 100.0)
        if oi_change_pct:
            c.oi.shift(at, until, 1.0 + oi_change_pct / 100.0)
        if funding_pct is not None:
            c.funding_base.shift(at, until, funding_pct - c.funding_base.at(at))
            c.funding_spread.shift(at, until, -c.funding_spread.at(at))
            for adjust in c.funding_adjust.values():
                adjust.shift(at, until, -adjust.at(at))
        for series, value in ((c.long_pct, long_pct), (c.top_long_pct, top_long_pct),
                              (c.top_position_long_pct, top_position_long_pct)):
            if value is not None:
                series.shift(at, until, value - series.at(at))
        orders = self._event_orders(coin, at, liquidation_long_usd, liquidation_short_usd)
        if orders:
            self._book(orders, announce=False)
        else:
            self._edited(at)

    def push_liquidations(self, coin: str, side: str, usd_total: float, *, orders: int = 1,
                          exchange: str | None = None) -> list[LiquidationOrder]:
        """``orders`` forced orders now worth ``usd_total`` together (unequal sizes, the
        largest first), on ``exchange`` or spread over the coin's venues by their share."""
        self.state(coin)
        if side not in SIDES:
            raise ValueError("side must be 'long' or 'short' (the position liquidated)")
        if usd_total <= 0 or orders < 1:
            raise ValueError("usd_total must be positive and orders at least 1")
        t = self.now()
        weights = sorted((0.3 + u.unit(coin, t, i, "ow") for i in range(orders)), reverse=True)
        total_weight = sum(weights)
        if exchange is not None:
            venue = u.canonical_exchange(exchange)
            if venue is None:
                raise ValueError(f"unknown exchange {exchange!r}; known: "
                                 f"{', '.join(u.SUPPORTED_EXCHANGES)}")
            venues = [venue] * orders
        else:
            table = u.shares(coin, "liq")
            venues = []
            for i in range(orders):
                draw, chosen = u.unit(coin, t, i, "ov"), table[-1][0]
                for name, share in table:
                    if draw < share:
                        chosen = name
                        break
                    draw -= share
                venues.append(chosen)
        booked = [self._order(coin, venue, side, usd_total * w / total_weight, t, depth=i)
                  for i, (venue, w) in enumerate(zip(venues, weights))]
        self._book(booked, announce=True)
        return booked

    def _order(self, coin: str, venue: str, side: str, usd: float, t: float,
               depth: int = 0) -> LiquidationOrder:
        """An order at the price in force at ``t``: longs are sold a little below it, shorts
        bought a little above, further with each order of a burst."""
        c = self.state(coin)
        slip = 0.0008 + 0.0004 * depth
        price = c.price.at(t) * (1.0 - slip if side == "long" else 1.0 + slip)
        return LiquidationOrder(t, coin, venue, side, round(usd, 2), round(price, c.decimals))

    def _book(self, orders: list[LiquidationOrder], *, announce: bool) -> None:
        """Store orders in the market (totals, venue rows, order lists) and, if asked and
        someone listens, queue them for the stream at their own times."""
        if not orders:
            return
        for order in orders:
            c = self.state(order.coin)
            insort(c.orders, order)
            c.flow(order.side).events.add(order.time, order.usd)
            if announce and self._listeners:
                heapq.heappush(self._scheduled, order)
        self._edited(min(o.time for o in orders))
        if announce:
            for listener in list(self._listeners):
                listener()

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` whenever orders are booked for announcement (the stream)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
        if not self._listeners:
            self._scheduled.clear()

    def due_orders(self, now: float | None = None) -> list[LiquidationOrder]:
        """Announced orders whose time has come, oldest first; each is returned once."""
        now = self.now() if now is None else now
        due = []
        while self._scheduled and self._scheduled[0].time <= now:
            due.append(heapq.heappop(self._scheduled))
        return due

    def add_whale(self, coin: str, *, value_usd: float, side: str = "long",
                  action: str = "open", price: float | None = None) -> None:
        """A Hyperliquid whale alert now."""
        self.state(coin)
        if side not in ("long", "short") or action not in ("open", "close"):
            raise ValueError("side must be long|short and action open|close")
        t = self.now()
        user = "0x" + "".join(f"{int(u.unit(coin, t, len(self.whales), i) * 16):x}"
                              for i in range(40))
        self.whales.append(Whale(t, coin, user, value_usd, side, action,
                                 price if price is not None else self.price(coin)))
        self._edited(t)

    def add_wall(self, coin: str, *, side: str, distance_pct: float, usd: float,
                 exchange: str = "Binance") -> None:
        """A large resting limit order ``distance_pct`` away from the current price."""
        if side not in ("bid", "ask"):
            raise ValueError("side must be 'bid' or 'ask'")
        c = self.state(coin)
        venue = u.canonical_exchange(exchange) or exchange
        sign = -1.0 if side == "bid" else 1.0
        level = round(self.price(coin) * (1.0 + sign * abs(distance_pct) / 100.0), c.decimals)
        wall_id = 9_000_000_000 + len(c.walls) + int(u.unit(coin, self.now()) * 1e6) * 100
        c.walls.append(Wall(self.now(), coin, venue, side, level, usd, wall_id))
        self._edited(self.now())

    def add_cluster(self, coin: str, *, distance_pct: float, usd: float) -> None:
        """Liquidation levels worth ``usd`` at ``distance_pct`` from price (negative = below)."""
        c = self.state(coin)
        level = round(self.price(coin) * (1.0 + distance_pct / 100.0), c.decimals)
        c.clusters.append(Cluster(self.now(), coin, level, usd))
        self._edited(self.now())

    def scenario(self, name: str, coin: str, *, unfold_s: float = 0.0) -> None:
        """Apply a named market scenario: calm, cascade, squeeze or top (see
        :mod:`sim.coinglass.scenarios`); ``unfold_s`` spreads its liquidations over time."""
        scenarios.apply(self, name, coin, unfold_s)

    def _hold_taker_share(self, c: CoinState, t: float, share: float) -> None:
        buy, sell = c.taker.totals(t - HOUR, None, t)
        total = buy + sell
        if total <= 0 or not 0.0 < share < 1.0:
            return
        if buy / total > share:
            c.taker.sells.add(t, buy / share - total)
        else:
            c.taker.buys.add(t, (share * total - buy) / (1.0 - share))

    @staticmethod
    def _funding_venue(name: str) -> str:
        venues = tuple(v for v, _ in u.FUNDING_STABLE_VENUES + u.FUNDING_TOKEN_VENUES)
        venue = u.canonical_exchange(name, venues)
        if venue is None:
            known = ", ".join(dict.fromkeys(venues))
            raise ValueError(f"no funding venue {name!r}; known: {known}")
        return venue

    # -- reading -------------------------------------------------------------------------

    def _t(self, t: float | None) -> float:
        return self.now() if t is None else t

    def price(self, coin: str, t: float | None = None, before: bool = False) -> float:
        c = self.state(coin)
        return round(c.price.at(self._t(t), before), c.decimals)

    def open_interest(self, coin: str, t: float | None = None, before: bool = False) -> float:
        return self.state(coin).oi.at(self._t(t), before)

    def oi_change_pct(self, coin: str, window_s: float, t: float | None = None) -> float:
        t = self._t(t)
        return (self.open_interest(coin, t) / self.open_interest(coin, t - window_s) - 1.0) * 100

    def funding_8h(self, coin: str, venue: str, margin: str = "stablecoin",
                   t: float | None = None, before: bool = False, *,
                   listed_only: bool = True) -> float | None:
        """A venue's funding in percent per 8 h, or None where it does not list the coin."""
        c = self.state(coin)
        if listed_only and not u.listed(coin, venue):
            return None
        t = self._t(t)
        offset = c.funding_offset(venue, margin)
        rate = c.funding_base.at(t, before) + c.funding_spread.at(t, before) * offset
        adjust = c.funding_adjust.get(venue)
        return rate + (adjust.at(t, before) if adjust else 0.0)

    def weighted_funding_8h(self, coin: str, weights: Iterable[tuple[str, float]],
                            t: float | None = None, before: bool = False) -> float:
        """The stablecoin-margined funding of listed venues weighted by ``weights`` (which
        sum to 1), percent per 8 h: one pass over the series instead of one per venue."""
        c = self.state(coin)
        t = self._t(t)
        weights = list(weights)
        offset = sum(w * c.funding_offset(v, "stablecoin") for v, w in weights)
        rate = c.funding_base.at(t, before) + c.funding_spread.at(t, before) * offset
        for venue, w in weights:
            adjust = c.funding_adjust.get(venue)
            if adjust is not None:
                rate += w * adjust.at(t, before)
        return rate

    def long_pct(self, coin: str, t: float | None = None, before: bool = False) -> float:
        return self.state(coin).long_pct.at(self._t(t), before)

    def top_long_pct(self, coin: str, t: float | None = None, before: bool = False) -> float:
        return self.state(coin).top_long_pct.at(self._t(t), before)

    def top_position_long_pct(self, coin: str, t: float | None = None,
                              before: bool = False) -> float:
        return self.state(coin).top_position_long_pct.at(self._t(t), before)

    def taker(self, coin: str, start: float, end: float | None = None) -> tuple[float, float]:
        """(buy USD, sell USD) over [start, end); ``end=None``: through now, inclusive."""
        return self.state(coin).taker.totals(start, end, self.now())

    def liquidations(self, coin: str, start: float, end: float | None = None,
                     venues: frozenset[str] | None = None) -> tuple[float, float]:
        """(long USD, short USD) liquidated over [start, end) (``end=None``: through now) on
        ``venues`` (None: the whole market): their share of the calm rate plus their orders."""
        c = self.state(coin)
        now = self.now()
        if venues is None:
            return c.liq_long.total(start, end, now), c.liq_short.total(start, end, now)
        part = u.share_of(coin, "liq", venues)
        long_usd = c.liq_long.rate_total(start, end, now) * part
        short_usd = c.liq_short.rate_total(start, end, now) * part
        for order in self.orders(coin, start, end, venues):
            if order.side == "long":
                long_usd += order.usd
            else:
                short_usd += order.usd
        return long_usd, short_usd

    def orders(self, coin: str, start: float, end: float | None = None,
               venues: frozenset[str] | None = None) -> list[LiquidationOrder]:
        """Scripted liquidation orders over [start, end) (``end=None``: through now,
        inclusive), oldest first."""
        c = self.state(coin)
        now = self.now()
        stop = now if end is None or end > now else end
        inclusive = end is None or end > now
        out = []
        for i in range(bisect_left(c.orders, start, key=_order_time), len(c.orders)):
            order = c.orders[i]
            if order.time > stop or (order.time == stop and not inclusive):
                break
            if venues is None or order.exchange in venues:
                out.append(order)
        return out

    def exchange_balances(self, coin: str, t: float | None = None) -> list[tuple[str, float]]:
        """(exchange, coins held) per exchange at ``t``."""
        c = self.state(coin)
        t = self._t(t)
        total = c.balance.at(t)
        rows = []
        for i, (venue, share) in enumerate(u.BALANCE_VENUES):
            if i >= 6 and coin not in ("BTC", "ETH") and u.unit(coin, venue, "bal") > 0.7:
                continue
            wiggle = wave([term(0.001, (5 + 7 * u.unit(coin, venue, "bp")) * DAY,
                                u.unit(coin, venue, "bf"))], t)
            rows.append((venue, total * share * (1.0 + wiggle)))
        return rows

    def exchange_balance_total(self, coin: str, t: float | None = None) -> float:
        return sum(b for _, b in self.exchange_balances(coin, t))

    def dominance(self, t: float | None = None, before: bool = False) -> float:
        return self.dominance_series.at(self._t(t), before)
