"""Small snapshot builders for signal tests: calm defaults, override what a test is about."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from core.market import (
    AccountRatio, BalanceSection, ClusterSection, DominanceSection, ExchangeBalance,
    ExchangeOpenInterest, FundingSection, FundingVenue, LiquidationCluster, LiquidationSection,
    MarketSnapshot, Missing, MissingReason, NetflowSection, OpenInterestSection, PriceSection,
    TakerSection, Wall, WallSection, WhaleMove, WhaleSection,
)
from core.plans import Plan
from core.thresholds import ThresholdSet

T0 = datetime(2026, 5, 11, 8, 0, tzinfo=timezone.utc)


def funding(avg: float = 0.01, venues: int = 3, method: str | None = None) -> FundingSection:
    vs = tuple(FundingVenue(f"EX{i}", "stablecoin", avg, 8.0) for i in range(venues))
    return FundingSection(vs, avg, method or f"OI-weighted mean of {venues} USDT-margined venues",
                          avg, T0 - timedelta(minutes=1))


def open_interest(h1: float | None = 0.2, h4: float | None = 0.3, total: float = 12e9,
                  **more: float) -> OpenInterestSection:
    changes = {k: v for k, v in {"1h": h1, "4h": h4, **more}.items() if v is not None}
    return OpenInterestSection(total, changes, (ExchangeOpenInterest("Binance", total),),
                               T0 - timedelta(minutes=2))


def liquidations(long: float = 1e6, short: float = 1e6, window: str = "1h") -> LiquidationSection:
    return LiquidationSection(window, long, short, T0 - timedelta(minutes=3))


def taker(buy_share: float = 50.0, sell_share: float | None = None) -> TakerSection:
    """Buy and sell USD summing to 100 (so the buy share is exactly ``buy_share``)."""
    sell = 100.0 - buy_share if sell_share is None else sell_share
    return TakerSection("1h", buy_share, sell, T0 - timedelta(minutes=4))


def ratio(long: float = 50.0, short: float | None = None) -> AccountRatio:
    return AccountRatio(long, 100.0 - long if short is None else short, "Binance", "BTCUSDT",
                        "1h", T0 - timedelta(minutes=5))


def price(change: float | None = 0.1, window: str = "1h", last: float = 95_000.0) -> PriceSection:
    return PriceSection(last, window, change, T0 - timedelta(minutes=6))


def balances(change_pct: float = 0.1, total: float = 2_000_000.0) -> BalanceSection:
    # One exchange whose day change is change_pct % of yesterday's balance.
    before = total / (1 + change_pct / 100)
    return BalanceSection((ExchangeBalance("Binance", total, total - before, change_pct),),
                          T0 - timedelta(minutes=7))


def dominance(change: float | None = 0.1, level: float = 58.0) -> DominanceSection:
    return DominanceSection(level, change, None, T0 - timedelta(minutes=8))


def netflow(h1: float | None = 1e6) -> NetflowSection:
    return NetflowSection({} if h1 is None else {"1h": h1, "24h": 0.0},
                          T0 - timedelta(minutes=9))


def whale(value: float, side: str = "long", action: str = "open", address: str =
          "0x12ab34cd56ef7890aa55bb66cc77dd88ee9989cd", entry: float | None = 1611.62,
          liq: float | None = 527.2521) -> WhaleMove:
    return WhaleMove(address, side, action, value / (entry or 1.0), value, entry, liq, T0)


def whales(*moves: WhaleMove) -> WhaleSection:
    return WhaleSection(tuple(moves), T0 - timedelta(minutes=10))


def walls(*items: tuple[str, float, float]) -> WallSection:
    """``("bid", price, usd)`` triples."""
    return WallSection(tuple(Wall(s, p, u, "Binance", "BTCUSDT") for s, p, u in items),
                       T0 - timedelta(minutes=11))


def clusters(*items: tuple[str, float, float]) -> ClusterSection:
    """``("long", price, usd)`` triples."""
    return ClusterSection(tuple(LiquidationCluster(p, u, s) for s, p, u in items), "1d",
                          T0 - timedelta(minutes=12))


CALM = dict(
    funding=funding, open_interest=open_interest, liquidations=liquidations, taker=taker,
    global_ls=ratio, top_ls=ratio, price=price, balances=balances,
)


def snap(coin: str = "BTC", plan: Plan = Plan.HOBBYIST, *, calm: bool = True,
         missing: dict[str, Missing] | None = None, **sections) -> MarketSnapshot:
    """A snapshot whose Hobbyist sections are calm unless given; ``x=None`` drops section x
    (reported as an ERROR unless ``missing`` says otherwise)."""
    values = {name: make() for name, make in CALM.items()} if calm else {}
    values.update(sections)
    gone = {name: Missing(MissingReason.ERROR, "timeout")
            for name, v in values.items() if v is None}
    gone.update(missing or {})
    values = {k: v for k, v in values.items() if v is not None}
    return MarketSnapshot(coin, plan, T0, missing=gone, **values)


def th(**overrides: float) -> ThresholdSet:
    return ThresholdSet.resolve(overrides)


# What each signal reads (SPEC §8), restated here rather than imported from the engine.
NEEDS = {
    "funding_extreme": {"funding"},
    "oi_surge": {"open_interest"},
    "liquidation_cascade": {"liquidations"},
    "ls_extreme": {"global_ls"},
    "smart_money_divergence": {"global_ls", "top_ls"},
    "taker_bias": {"taker"},
    "oi_price_regime": {"open_interest", "price"},
    "exchange_balance": {"balances"},
    "netflow": {"netflow"},
    "btc_dominance": {"dominance"},
    "whale_position": {"whales"},
    "orderbook_wall": {"walls", "price"},
    "liquidation_cluster": {"clusters", "price"},
}

M = 1e6


def stressed_sections() -> dict:
    """Every section present and past every threshold, so each signal fires if it can."""
    return dict(
        funding=funding(0.3), open_interest=open_interest(-8.0, 3.0),
        liquidations=liquidations(90 * M, 1 * M),
        taker=taker(80.0), global_ls=ratio(70.0), top_ls=ratio(50.0),
        price=price(-3.0, last=100_000.0), balances=balances(3.0), dominance=dominance(2.0),
        netflow=netflow(-300 * M), whales=whales(whale(20 * M)),
        walls=walls(("ask", 100_500.0, 30 * M)), clusters=clusters(("long", 99_500.0, 500 * M)),
    )
