"""The rolling fold: anchored on the polled figure, never counting an order twice."""

from __future__ import annotations

import random

import pytest

from core.stream.fold import MAX_ANCHOR_AGE, REFRESH_MARGIN, WINDOW, CoinFold, KeyFold
from core.stream.frames import Order

T0 = 1_800_000_000.0


def order(t: float, usd: float, side: str = "long", coin: str = "BTC") -> Order:
    return Order(coin, side, usd, t, "Binance")


def test_orders_newer_than_the_anchor_count_on_top_of_it():
    fold = KeyFold({"BTC"})
    fold.add([order(T0 - 30, 5e6)], T0)            # before the poll: in the polled figure
    fold.anchor("BTC", 40e6, 3e6, T0)              # the poll read $40M / $3M at T0
    fold.add([order(T0 + 1, 8e6), order(T0 + 2, 1e6, "short")], T0 + 2)
    view = fold.view("BTC", T0 + 2)
    assert (view.long_usd, view.short_usd) == (48e6, 4e6)
    assert view.anchored


def test_without_an_anchor_the_stream_alone_is_a_lower_bound():
    fold = KeyFold({"BTC"})
    fold.add([order(T0, 7e6), order(T0 + 1, 2e6, "short")], T0 + 1)
    view = fold.view("BTC", T0 + 1)
    assert (view.long_usd, view.short_usd, view.anchored) == (7e6, 2e6, False)


def test_orders_between_coinglass_refresh_and_the_poll_are_not_lost():
    """CoinGlass computed the polled figure before a burst the poll then fetched without it:
    the stream's own sum still shows the burst."""
    fold = KeyFold({"BTC"})
    fold.add([order(T0 - 3, 60e6)], T0 - 3)        # after CoinGlass's refresh at T0 - 5
    fold.anchor("BTC", 10e6, 0.0, T0)              # so the poll at T0 misses it
    assert fold.view("BTC", T0).long_usd == 60e6   # a lower bound, not 10M, not 70M


def test_a_lagging_re_anchor_never_takes_back_what_the_stream_saw():
    fold = KeyFold({"BTC"})
    fold.anchor("BTC", 30e6, 0.0, T0)
    fold.add([order(T0 + 1, 25e6)], T0 + 1)        # 55M: a cascade
    fold.anchor("BTC", 30e6, 0.0, T0 + 3)          # the next poll's REST figure lags
    assert fold.view("BTC", T0 + 3).long_usd == 55e6
    fold.anchor("BTC", 56e6, 0.0, T0 + 12)         # CoinGlass caught up (and +1M more)
    assert fold.view("BTC", T0 + 12).long_usd == 56e6


def test_the_window_rolls_orders_out_after_an_hour():
    fold = KeyFold({"BTC"})
    fold.add([order(T0, 20e6)], T0)
    fold.anchor("BTC", 20e6, 0.0, T0 + 1)          # the poll sees it
    fold.add([order(T0 + 5, 1e6)], T0 + 5)
    assert fold.view("BTC", T0 + 5).long_usd == 21e6
    # An hour after the big order: it leaves both the anchor's figure and the stream's sum.
    later = T0 + WINDOW + 2
    fold.anchor("BTC", 1e6, 0.0, later - 1)
    assert fold.view("BTC", later).long_usd == 1e6
    # An old anchor alone: the orders streamed before it are subtracted as they leave.
    fold2 = KeyFold({"BTC"})
    fold2.add([order(T0, 20e6), order(T0 + 100, 4e6)], T0 + 100)
    fold2.anchor("BTC", 24e6, 0.0, T0 + 200)
    assert fold2.view("BTC", T0 + WINDOW + 50).long_usd == 4e6


def test_an_anchor_is_used_for_a_limited_time():
    fold = KeyFold({"BTC"})
    fold.anchor("BTC", 40e6, 0.0, T0)
    assert fold.view("BTC", T0 + MAX_ANCHOR_AGE).anchored
    view = fold.view("BTC", T0 + MAX_ANCHOR_AGE + 1)
    assert not view.anchored and view.long_usd == 0.0


def test_the_same_kept_figure_anchors_once_and_old_figures_do_not_displace_new_ones():
    fold = CoinFold()
    fold.anchor(10e6, 0.0, T0 + 10)
    fold.anchor(10e6, 0.0, T0 + 10)
    fold.anchor(9e6, 0.0, T0)                      # a kept, older figure reused by a poll
    assert [a.at for a in fold.anchors] == [T0, T0 + 10]


def test_unwatched_coins_and_stale_orders_are_ignored():
    fold = KeyFold({"BTC", "eth"})
    touched = fold.add([order(T0, 1e6, coin="SOL"), order(T0, 2e6, coin="ETH"),
                        order(T0 - WINDOW - 1, 3e6)], T0)
    assert touched == {"ETH"} and fold.folded == 1 and fold.ignored == 2
    fold.set_watch({"BTC"})
    assert fold.view("ETH", T0) is None


def test_out_of_order_and_future_orders_are_filed_without_breaking_the_ledger():
    fold = KeyFold({"BTC"})
    fold.add([order(T0 + 2, 1e6), order(T0 + 1, 2e6), order(T0 + 10_000, 4e6)], T0 + 2)
    coin = fold.coins["BTC"]
    assert list(coin.times) == sorted(coin.times) == [T0 + 2, T0 + 7]   # late: filed at T0 + 2
    assert fold.view("BTC", T0 + 7).long_usd == 7e6


def test_the_ledger_is_pruned_and_compacted():
    fold = KeyFold({"BTC"})
    for i in range(10_000):
        fold.add([order(T0 + i, 1.0)], T0 + i)
    now = T0 + 9_999
    fold.prune(now)
    coin = fold.coins["BTC"]
    kept = len(coin.times) - coin.head
    assert kept == pytest.approx(WINDOW + MAX_ANCHOR_AGE + REFRESH_MARGIN, abs=3)
    assert len(coin.times) < 10_000                  # compacted
    assert fold.view("BTC", now).long_usd == pytest.approx(WINDOW, abs=1)


def test_the_view_never_overcounts_and_misses_only_what_sits_on_a_boundary():
    """Against a brute-force sum over random streams, polls reading CoinGlass's figure as of
    its last 10 s refresh: the view never exceeds the true hour (no order counted twice), and
    falls short at most by the orders of the seconds around the anchor and the window's edge."""
    rng = random.Random(7)
    fold = KeyFold({"BTC"})
    orders: list[Order] = []
    now = T0
    refreshed = anchor_at = T0

    def true_long(until: float, since: float) -> float:
        return sum(o.usd for o in orders if since < o.time <= until and o.side == "long")

    for step in range(3000):
        now += rng.uniform(0.1, 3.0)
        batch = [order(now - rng.uniform(0, 0.09), rng.uniform(1e3, 2e6),
                       rng.choice(["long", "short"])) for _ in range(rng.randint(0, 3))]
        fold.add(batch, now)
        orders += batch
        if now - refreshed >= 10.0:
            refreshed = now - rng.uniform(0, 3.0)        # CoinGlass's last refresh, C
        if step % 40 == 0:                               # a poll at F = now reads A as of C
            short = sum(o.usd for o in orders if refreshed - WINDOW < o.time <= refreshed
                        and o.side == "short")
            fold.anchor("BTC", true_long(refreshed, refreshed - WINDOW), short, now)
            anchor_at = now
        if step % 7 == 0:
            fold.prune(now)
        view = fold.view("BTC", now)
        truth = true_long(now, now - WINDOW)
        slack = sum(o.usd for o in orders if o.side == "long" and (
            anchor_at - REFRESH_MARGIN - 2 < o.time <= anchor_at + 2
            or now - WINDOW - 2 < o.time <= now - WINDOW + 2))
        assert truth - slack - 1e-3 <= view.long_usd <= truth + 1e-3
