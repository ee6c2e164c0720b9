"""Rolling 1 h long/short liquidation totals from the stream, anchored on the polled figure.

How the polled figure and the streamed orders are joined (per key and coin):

- An **anchor** is the 1 h total a poll read from CoinGlass (``A``, long and short) and the
  moment the poll fetched it (``F``). CoinGlass computed ``A`` at its last refresh, some time
  ``C`` between ``F`` − :data:`REFRESH_MARGIN` and ``F`` that it does not tell us.
- Only streamed orders **newer than F** count on top of ``A``. An order the REST figure
  already holds is older than ``C ≤ F``, so it is never counted twice. (The price: an order
  between ``C`` and ``F`` is in neither part, until the next poll re-anchors.)
- The window rolls: an order streamed at ``t`` leaves the total at ``t + 1 h``; one that may
  be part of ``A`` (streamed after ``F`` − 1 h − the margin, before ``F``) is subtracted from
  ``A`` when it leaves. What ``A`` held from before the socket connected cannot be
  subtracted, so an anchor is used for :data:`MAX_ANCHOR_AGE` only; every poll brings a
  fresh one.
- The streamed orders alone over the last hour are a second estimate (exact once the socket
  has been up an hour), which also covers orders that fell between ``C`` and ``F``.

Each estimate never counts an order twice and, where it must guess, guesses low, so each is a
lower bound of the true total (up to the anchor's unsubtractable part, bounded by its age).
The view is the larger of them per side — the recent anchors' estimates and the stream's own
sum — so a re-anchor on a REST figure that lags the stream never takes back what the stream
has seen, and the total is right from the first minute.

Orders are kept in one-second buckets (see :class:`CoinFold`): memory grows with seconds,
not with orders, and an order that arrives late is filed in the latest bucket.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Iterable

from core.stream.frames import LONG, Order

WINDOW = 3600.0                 # the signal's window: liquidations over 1 h
MAX_ANCHOR_AGE = 900.0          # an anchor older than this is not used (see the docstring)
MAX_ANCHORS = 3                 # the newest polls' figures kept as anchors
REFRESH_MARGIN = 10.0          # CoinGlass refreshes the liquidation figures every 10 s
MAX_SKEW = 5.0                  # an order stamped later than now + this is filed at now + this
_COMPACT_AT = 1024


@dataclass(frozen=True, slots=True)
class Anchor:
    at: float                   # when the poll fetched it (F)
    long_usd: float
    short_usd: float


@dataclass(frozen=True, slots=True)
class LiquidationView:
    long_usd: float
    short_usd: float
    at: float                   # the time this view is for
    anchored: bool              # a usable anchor took part

    @property
    def total_usd(self) -> float:
        return self.long_usd + self.short_usd


class CoinFold:
    """One coin's ledger of streamed orders, in one-second buckets, and its anchors.

    A bucket holds the orders of one second ``[s, s + 1)``; the ledger stores the running
    long and short sums after each bucket, so a window's sum is two binary searches and the
    memory is bounded by seconds, not orders (at most :data:`WINDOW` + :data:`MAX_ANCHOR_AGE`
    buckets of 24 bytes). Where a bucket straddles a boundary the sums lean low: the bucket
    holding an anchor's ``F`` does not count on top of it, and a bucket that has begun to
    leave the window is taken out whole — a lower bound, never a double count."""

    __slots__ = ("times", "cum_long", "cum_short", "head", "base_long", "base_short",
                 "anchors", "last_order_at")

    def __init__(self) -> None:
        self.times = array("d")               # bucket starts (whole seconds), ascending
        self.cum_long = array("d")            # running sums through each bucket
        self.cum_short = array("d")
        self.head = 0                         # first bucket still inside the kept span
        self.base_long = 0.0                  # running sums before ``head``
        self.base_short = 0.0
        self.anchors: list[Anchor] = []
        self.last_order_at: float | None = None

    def add(self, side: str, usd: float, at: float) -> None:
        second = float(int(at))
        times = self.times
        if len(times) > self.head and second <= times[-1]:
            # This second's bucket, or a late order filed in the latest bucket.
            if side == LONG:
                self.cum_long[-1] += usd
            else:
                self.cum_short[-1] += usd
        else:
            if len(times) > self.head:
                long_sum, short_sum = self.cum_long[-1], self.cum_short[-1]
            else:
                long_sum, short_sum = self.base_long, self.base_short
            if side == LONG:
                long_sum += usd
            else:
                short_sum += usd
            times.append(second)
            self.cum_long.append(long_sum)
            self.cum_short.append(short_sum)
        self.last_order_at = at

    def anchor(self, long_usd: float, short_usd: float, at: float) -> None:
        """A poll's figure fetched at ``at`` (a kept figure a later poll reuses comes once)."""
        if any(a.at == at for a in self.anchors):
            return
        anchors = sorted(self.anchors + [Anchor(at, long_usd, short_usd)], key=lambda a: a.at)
        self.anchors = anchors[-MAX_ANCHORS:]

    def _cum(self, i: int) -> tuple[float, float]:
        if i < self.head:
            return self.base_long, self.base_short
        return self.cum_long[i], self.cum_short[i]

    def _through(self, t: float) -> tuple[float, float]:
        """Running sums of the buckets starting at or before ``t``."""
        return self._cum(bisect_right(self.times, t, self.head) - 1)

    def _before(self, t: float) -> tuple[float, float]:
        """Running sums of the buckets starting before ``t``."""
        return self._cum(bisect_left(self.times, t, self.head) - 1)

    def view(self, now: float) -> LiquidationView:
        total_long, total_short = self._cum(len(self.times) - 1)
        out_long, out_short = self._through(now - WINDOW)          # begun to leave by now
        long_usd, short_usd = total_long - out_long, total_short - out_short
        anchored = False
        for a in self.anchors:
            if now - a.at > MAX_ANCHOR_AGE or a.at > now:
                continue
            anchored = True
            before_long, before_short = self._before(a.at)         # not after F: maybe in A
            # Orders that may be in A (its hour began after F − 1 h − the refresh margin)
            # and have left the window since: subtracted.
            kept_long, kept_short = self._through(a.at - WINDOW - REFRESH_MARGIN - 1.0)
            long_usd = max(long_usd, a.long_usd + (total_long - before_long)
                           - (out_long - kept_long))
            short_usd = max(short_usd, a.short_usd + (total_short - before_short)
                            - (out_short - kept_short))
        return LiquidationView(max(long_usd, 0.0), max(short_usd, 0.0), now, anchored)

    def prune(self, now: float) -> None:
        """Forget buckets no window or anchor can reach any more."""
        reach = WINDOW + MAX_ANCHOR_AGE + REFRESH_MARGIN + 2.0
        keep_from = bisect_right(self.times, now - reach, self.head)
        if keep_from > self.head:
            self.base_long = self.cum_long[keep_from - 1]
            self.base_short = self.cum_short[keep_from - 1]
            self.head = keep_from
        if self.head >= _COMPACT_AT and self.head * 2 >= len(self.times):
            del self.times[:self.head], self.cum_long[:self.head], self.cum_short[:self.head]
            self.head = 0
        self.anchors = [a for a in self.anchors if now - a.at <= MAX_ANCHOR_AGE]


class KeyFold:
    """Every watched coin's fold for one key's stream; other coins' orders are ignored."""

    def __init__(self, watch: Iterable[str] = ()):
        self.coins: dict[str, CoinFold] = {}
        self.watch: frozenset[str] = frozenset()
        self.folded = 0
        self.ignored = 0
        self.set_watch(watch)

    def set_watch(self, coins: Iterable[str]) -> None:
        self.watch = frozenset(c.upper() for c in coins)
        for coin in list(self.coins):
            if coin not in self.watch:
                del self.coins[coin]

    def coin(self, coin: str) -> CoinFold:
        fold = self.coins.get(coin)
        if fold is None:
            fold = self.coins[coin] = CoinFold()
        return fold

    def add(self, orders: Iterable[Order], now: float) -> set[str]:
        """Fold a batch of orders; returns the watched coins it touched."""
        touched: set[str] = set()
        watch, coins = self.watch, self.coins
        oldest, latest = now - WINDOW, now + MAX_SKEW
        seen = folded = 0
        for order in orders:
            seen += 1
            coin = order.coin
            if coin not in watch or order.time <= oldest:
                continue
            fold = coins.get(coin)
            if fold is None:
                fold = coins[coin] = CoinFold()
            fold.add(order.side, order.usd, order.time if order.time < latest else latest)
            folded += 1
            touched.add(coin)
        self.folded += folded
        self.ignored += seen - folded
        return touched

    def anchor(self, coin: str, long_usd: float, short_usd: float, at: float) -> None:
        if coin in self.watch:
            self.coin(coin).anchor(long_usd, short_usd, at)

    def view(self, coin: str, now: float) -> LiquidationView | None:
        fold = self.coins.get(coin)
        return fold.view(now) if fold is not None else None

    def prune(self, now: float) -> None:
        for fold in self.coins.values():
            fold.prune(now)
