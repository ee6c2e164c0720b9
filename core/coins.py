"""Coins: reading what users type, and checking it against CoinGlass's supported coins.

The supported list is fetched with a user's own key and cached for hours (CoinGlass itself
caches it for a minute and it changes rarely), so validating costs almost no budget.
"""

from __future__ import annotations

import difflib
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Callable

from core.coinglass.client import CoinGlassClient
from core.coinglass.errors import CoinGlassError

log = logging.getLogger(__name__)

_SYMBOL = re.compile(r"^[A-Z0-9]{1,20}$")
_SEPARATORS = re.compile(r"[\s,;/|]+")
MAX_COINS_PER_MESSAGE = 20

ALIASES = {
    "BITCOIN": "BTC", "XBT": "BTC", "ETHEREUM": "ETH", "ETHER": "ETH", "SOLANA": "SOL",
    "RIPPLE": "XRP", "DOGECOIN": "DOGE", "CARDANO": "ADA", "CHAINLINK": "LINK",
    "LITECOIN": "LTC", "AVALANCHE": "AVAX", "POLKADOT": "DOT", "TONCOIN": "TON",
}
POPULAR = ("BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "HYPE", "SUI")


@dataclass
class ParsedCoins:
    coins: list[str] = field(default_factory=list)      # well-formed, upper-case, de-duplicated
    malformed: list[str] = field(default_factory=list)  # tokens that cannot be a symbol


def parse_coins(text: str) -> ParsedCoins:
    """Read ``ETH``, ``eth sol``, ``$BTC,ETH`` and the like."""
    result = ParsedCoins()
    for token in _SEPARATORS.split(text.strip()):
        if not token:
            continue
        symbol = token.lstrip("$#").upper()
        if symbol.endswith(("USDT", "PERP")) and len(symbol) > 4:
            symbol = symbol.removesuffix("USDT").removesuffix("PERP")
        if _SYMBOL.match(symbol):
            if symbol not in result.coins:
                result.coins.append(symbol)
        elif token not in result.malformed:
            result.malformed.append(token)
    return result


def suggestions(coin: str, supported: list[str], n: int = 3) -> list[str]:
    """Close matches for an unknown coin, best first."""
    found = []
    alias = ALIASES.get(coin)
    if alias and alias in supported:
        found.append(alias)
    for match in difflib.get_close_matches(coin, supported, n=n + 1, cutoff=0.6):
        if match not in found:
            found.append(match)
    prefixed = [s for s in supported if s.startswith(coin) or coin.startswith(s)]
    for match in sorted(prefixed, key=len):
        if match not in found and len(match) > 1:
            found.append(match)
    return found[:n]


class SupportedCoins:
    """A cached copy of ``/api/futures/supported-coins``."""

    def __init__(self, client: CoinGlassClient, *, ttl_seconds: float = 6 * 3600,
                 clock: Callable[[], float] = time.monotonic):
        self._client = client
        self._ttl = ttl_seconds
        self._clock = clock
        self._coins: list[str] | None = None
        self._set: frozenset[str] = frozenset()
        self._fetched_at = 0.0

    @property
    def cached(self) -> list[str] | None:
        return self._coins

    async def get(self, api_key: str, *, per_minute: int | None = None) -> list[str] | None:
        """The list, refreshed with ``api_key`` when stale; a stale or no list if CoinGlass fails."""
        if self._coins is not None and self._clock() - self._fetched_at < self._ttl:
            return self._coins
        try:
            coins = await self._client.supported_coins(api_key, per_minute=per_minute)
        except CoinGlassError as exc:
            log.info("supported coins unavailable: %s", exc)
            return self._coins
        if coins:
            self._coins = [c.upper() for c in coins]
            self._set = frozenset(self._coins)
            self._fetched_at = self._clock()
        return self._coins

    def is_supported(self, coin: str) -> bool:
        return coin in self._set
