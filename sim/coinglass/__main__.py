"""Run the CoinGlass simulator from a shell until Ctrl-C or SIGTERM.

    python -m sim.coinglass --port 8801 --key demo:startup --key big:enterprise:6000
    python -m sim.coinglass --refresh-scale 0.1 --ws-spelling sdk

Prints one line, ``CoinGlass simulator listening on http://127.0.0.1:PORT``, once it serves.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from sim.coinglass.keys import parse_plan
from sim.coinglass.scenarios import SCENARIOS
from sim.coinglass.server import CoinGlassSim


def _parse_key(text: str) -> tuple[str, str, int | None]:
    """``KEY:PLAN`` or ``KEY:PLAN:LIMIT``."""
    parts = text.split(":")
    if len(parts) not in (2, 3) or not parts[0]:
        raise argparse.ArgumentTypeError(f"expected KEY:PLAN[:LIMIT], got {text!r}")
    try:
        parse_plan(parts[1])
        limit = int(parts[2]) if len(parts) == 3 else None
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return parts[0], parts[1], limit


def _parse_scenario(text: str) -> tuple[str, str]:
    name, _, coin = text.partition(":")
    if name not in SCENARIOS or not coin:
        raise argparse.ArgumentTypeError(
            f"expected NAME:COIN with NAME one of {', '.join(SCENARIOS)}, got {text!r}")
    return name, coin


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sim.coinglass", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--key", action="append", type=_parse_key, default=[],
                        metavar="KEY:PLAN[:LIMIT]", help="register an API key (repeatable)")
    parser.add_argument("--rate-limit-mode", choices=("http", "body"), default="http",
                        help="answer an exceeded limit with HTTP 429 (default) or a 200 body")
    parser.add_argument("--scenario", action="append", type=_parse_scenario, default=[],
                        metavar="NAME:COIN", help="apply a market scenario at start")
    parser.add_argument("--refresh-scale", type=float, default=1.0, metavar="X",
                        help="multiply every endpoint's refresh pace (default 1.0; 0 = live)")
    parser.add_argument("--ws-spelling", choices=("docs", "sdk"), default="docs",
                        help="WebSocket field names: the docs' camelCase or the SDKs' snake_case")
    parser.add_argument("--no-ws-background", action="store_true",
                        help="stream only scripted liquidation orders")
    return parser.parse_args(argv)


async def _serve(args: argparse.Namespace) -> None:
    sim = CoinGlassSim(rate_limit_mode=args.rate_limit_mode, refresh_scale=args.refresh_scale,
                       ws_spelling=args.ws_spelling, ws_background=not args.no_ws_background)
    for key, plan, limit in args.key:
        sim.add_key(key, plan, max_limit=limit)
    for name, coin in args.scenario:
        sim.market.scenario(name, coin)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await sim.start(host=args.host, port=args.port)
    print(f"CoinGlass simulator listening on {sim.base_url}", flush=True)
    try:
        await stop.wait()
    finally:
        await sim.stop()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(_serve(_arguments(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
