"""A local CoinGlass API v4 for tests, benchmarks and the offline demo.

    sim = CoinGlassSim()                       # calm, deterministic market of 925 coins
    sim.add_key("k1", "hobbyist")
    await sim.start()                          # http://127.0.0.1:<ephemeral port>
    sim.market.scenario("cascade", "ETH")      # or set()/move()/liquidate()/add_whale()...
    sim.push_liquidations("BTC", "long", 50e6, orders=10)   # streamed on ws://…/ws-api too
    sim.market.script_history("BTC", at=t, oi_change_pct=10)  # a known episode in the past
    await sim.stop()

Each endpoint serves the market as of its last refresh at CoinGlass's pace
(:mod:`~sim.coinglass.paces`; ``CoinGlassSim(refresh_scale=0.1)`` compresses it, ``0`` makes
everything live). Behaviour follows ``coinglass-v4.md``; the modules say which choices were ours.
"""

from sim.coinglass.market import LiquidationOrder, Market
from sim.coinglass.server import CoinGlassSim, RecordedRequest

__all__ = ["CoinGlassSim", "LiquidationOrder", "Market", "RecordedRequest"]
