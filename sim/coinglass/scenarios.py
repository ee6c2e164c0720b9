"""Named market scenarios, each a few scripted steps at now.

Liquidation sizes are set for BTC and scaled by the coin's open interest, with a floor so a
cascade clears perpwatch's default $50M threshold on any coin (ETH gets about $94M).

Everything steps at once by default: the liquidations are booked as orders on the coin's
venues at now, public on REST at each endpoint's next refresh and streamed on the WebSocket at
once. ``unfold_s`` spreads a cascade's or squeeze's liquidations over that many seconds in
five tranches (40/25/15/12/8 %), each public on REST and on the stream at its own time; the
default is 0 because tests that count alerts want one market move, not a move and a later
escalation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from sim.coinglass.market import Market



def _liquidation_usd(market: Market, coin: str, btc_usd: float) -> float:
    size = market.state(coin).profile.size
    return btc_usd * max(size, 1.0 / 3.0)


def calm(market: Market, coin: str, unfold_s: float = 0.0) -> None:
    """Back to the deterministic calm baseline."""
    market.reset(coin)


def cascade(market: Market, coin: str, unfold_s: float = 0.0) -> None:
    """Long liquidation cascade: price −6 %, OI −9 %, $180M longs liquidated (BTC scale),
    funding negative, takers selling 30/70, retail still 68 % long."""
    market.move(coin, price_pct=-6.0, oi_pct=-9.0)
    long_usd = _liquidation_usd(market, coin, 180e6)
    market.liquidate(coin, long_usd=long_usd, short_usd=long_usd * 0.04, unfold_s=unfold_s)
    market.set(coin, funding_pct=-0.03, taker_buy_share=30.0, long_pct=68.0, top_long_pct=60.0,
               top_position_long_pct=55.0)


def squeeze(market: Market, coin: str, unfold_s: float = 0.0) -> None:
    """Short squeeze: price +7 %, OI −6 %, $150M shorts liquidated (BTC scale), crowded
    shorts still paying funding, takers buying 70/30, retail 64 % short."""
    market.move(coin, price_pct=7.0, oi_pct=-6.0)
    short_usd = _liquidation_usd(market, coin, 150e6)
    market.liquidate(coin, long_usd=short_usd * 0.05, short_usd=short_usd,
                     unfold_s=unfold_s)
    market.set(coin, funding_pct=-0.06, taker_buy_share=70.0, long_pct=36.0, top_long_pct=44.0,
               top_position_long_pct=47.0)


def top(market: Market, coin: str, unfold_s: float = 0.0) -> None:
    """Classic top: funding 0.15 %/8h on every venue, OI +7 %, price +2.5 %, 70 % of retail
    long while top traders lean less long."""
    market.move(coin, price_pct=2.5, oi_pct=7.0)
    market.set(coin, funding_pct=0.15, long_pct=70.0, top_long_pct=61.0,
               top_position_long_pct=58.0, taker_buy_share=56.0)


SCENARIOS: dict[str, Callable[[Market, str, float], None]] = {
    "calm": calm, "cascade": cascade, "squeeze": squeeze, "top": top,
}


def apply(market: Market, name: str, coin: str, unfold_s: float = 0.0) -> None:
    try:
        scenario = SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}") from None
    market.state(coin)
    scenario(market, coin, unfold_s)
