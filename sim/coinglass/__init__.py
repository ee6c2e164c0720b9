"""A local CoinGlass API v4 for tests, benchmarks and the offline demo.

    sim = CoinGlassSim()                       # calm, deterministic market
    sim.add_key("k1", "hobbyist")
    await sim.start()                          # http://127.0.0.1:<ephemeral port>
    sim.market.scenario("cascade", "ETH")      # or set()/move()/liquidate()/add_whale()...
    await sim.stop()

Behaviour follows ``coinglass-v4.md``; the modules say which choices were ours.
"""

from sim.coinglass.market import Market
from sim.coinglass.server import CoinGlassSim, RecordedRequest

__all__ = ["CoinGlassSim", "Market", "RecordedRequest"]
