"""The simulated market's fixed facts: coins, venues, their shares and instrument ids.

Shares are taken from the recorded BTC bodies in ``coinglass-recorded/`` (Nov 2025) and rounded;
smaller coins list on fewer venues, chosen deterministically from the coin name.

The universe has :data:`DEFAULT_COINS` (24 scripted coins with hand-set sizes) followed by
:data:`SYNTHETIC_COINS`, deterministic made-up coins that bring the total to
:data:`UNIVERSE_SIZE` = 925, the number of coins in the recorded Nov-2025 funding-rate
exchange-list, so all-coins bodies have their real size. Synthetic coins get plausible symbols,
a power-law size (from ~$150M of open interest down to ~$0.2M), fewer venues the smaller they
are (at least one of Binance, Bybit, OKX, Gate, Hyperliquid) and a calm funding level that
strays further from 0.01 %/8h the smaller they are.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

# Order and names as /api/futures/funding-rate/exchange-list sends them (18 + 8 entries, recorded).
# The second value is ``funding_rate_interval`` in hours; None where CoinGlass sends null.
FUNDING_STABLE_VENUES: tuple[tuple[str, int | None], ...] = (
    ("Binance", 8), ("OKX", 8), ("Bybit", 8), ("KuCoin", None), ("dYdX", 1), ("MEXC", 8),
    ("CoinEx", 8), ("Bitfinex", None), ("Kraken", 1), ("HTX", None), ("BingX", 8), ("Gate", 8),
    ("Crypto.com", 1), ("Coinbase", 1), ("Hyperliquid", 1), ("Bitunix", None), ("Bitget", 8),
    ("WhiteBIT", 8),
)
FUNDING_TOKEN_VENUES: tuple[tuple[str, int | None], ...] = (
    ("Binance", 8), ("OKX", 8), ("Bitmex", None), ("Bybit", 8), ("Deribit", 8), ("CoinEx", 8),
    ("Kraken", 1), ("HTX", None),
)
# Venues every coin is listed on; the others are dropped for some smaller coins.
CORE_VENUES = frozenset({"Binance", "OKX", "Bybit", "Gate", "Bitget", "MEXC", "Hyperliquid"})
# Venues that only list the two largest coins.
MAJORS_ONLY = frozenset({"CME", "Deribit", "Coinbase", "Bitfinex", "Kraken", "Bitmex", "dYdX"})

# (exchange, share of the coin's open interest, share of it that is coin-margined)
OI_VENUES: tuple[tuple[str, float, float], ...] = (
    ("CME", 0.2068, 0.0), ("Binance", 0.1864, 0.212), ("Bybit", 0.1056, 0.181),
    ("MEXC", 0.0765, 0.011), ("Gate", 0.0703, 0.006), ("HTX", 0.0568, 0.012),
    ("OKX", 0.0548, 0.326), ("Hyperliquid", 0.0442, 0.0), ("Deribit", 0.039, 1.0),
    ("Bitget", 0.0336, 0.39), ("WhiteBIT", 0.0314, 0.0), ("BingX", 0.0307, 0.089),
    ("Crypto.com", 0.0165, 0.0), ("Bitunix", 0.0134, 0.296), ("KuCoin", 0.0100, 0.134),
    ("Bitfinex", 0.0098, 0.0), ("Bitmex", 0.0053, 0.959), ("Kraken", 0.0037, 0.113),
    ("CoinEx", 0.0024, 0.147), ("Coinbase", 0.0023, 0.0), ("dYdX", 0.0006, 0.0),
)
# (exchange, share of taker volume, buy-ratio offset in points)
TAKER_VENUES: tuple[tuple[str, float, float], ...] = (
    ("Binance", 0.3019, -0.6), ("OKX", 0.1098, 0.4), ("Bybit", 0.1085, -0.3),
    ("KuCoin", 0.0102, 0.9), ("Gate", 0.0982, -1.0), ("Bitget", 0.0474, -1.1),
    ("WhiteBIT", 0.0293, 2.5), ("BingX", 0.0245, 1.2), ("MEXC", 0.0538, -0.2),
    ("Bitunix", 0.0197, -0.4), ("Crypto.com", 0.0241, 0.5), ("Hyperliquid", 0.0601, -0.5),
    ("dYdX", 0.0032, 0.6), ("Deribit", 0.0137, 0.5), ("Bitmex", 0.0056, -1.5),
    ("Bitfinex", 0.0005, -0.3), ("CoinEx", 0.0035, -1.6), ("Kraken", 0.0042, 1.4),
    ("Coinbase", 0.0754, 1.3), ("HTX", 0.0065, 1.3),
)
# (exchange, share of liquidations)
LIQUIDATION_VENUES: tuple[tuple[str, float], ...] = (
    ("Hyperliquid", 0.30), ("Bybit", 0.25), ("Binance", 0.20), ("OKX", 0.10), ("Gate", 0.06),
    ("Bitmex", 0.03), ("HTX", 0.03), ("CoinEx", 0.02), ("Bitfinex", 0.01),
)
# (exchange, share of the coin's exchange balance), as in the recorded BTC balance list.
BALANCE_VENUES: tuple[tuple[str, float], ...] = (
    ("Coinbase", 0.2673), ("Binance", 0.2658), ("Bitfinex", 0.1887), ("Gemini", 0.0580),
    ("OKX", 0.0569), ("Kraken", 0.0488), ("Bybit", 0.0337), ("bitFlyer", 0.0260),
    ("Bitmex", 0.0228), ("Bithumb", 0.0142), ("Gate", 0.0100), ("Bitstamp", 0.0043),
    ("Korbit", 0.0028), ("KuCoin", 0.0020), ("Coinone", 0.0020), ("Poloniex", 0.0012),
    ("CoinEx", 0.0004), ("GOPAX", 0.0001), ("Bittrex", 0.0000004), ("FTX", 0.0000001),
)

SUPPORTED_EXCHANGES: tuple[str, ...] = (
    "Binance", "OKX", "Bybit", "Gate", "Bitget", "HTX", "Hyperliquid", "KuCoin", "MEXC", "BingX",
    "CME", "dYdX", "Deribit", "Bitmex", "Bitfinex", "Kraken", "CoinEx", "Coinbase", "Crypto.com",
    "Bitunix", "WhiteBIT",
)

# USDT perpetual instrument ids per venue, as pairs-markets reports them (recorded for BTC).
_PAIR_FORMATS: dict[str, str] = {
    "Binance": "{c}USDT", "OKX": "{c}-USDT-SWAP", "Bybit": "{c}USDT", "Gate": "{c}_USDT",
    "Bitget": "{c}USDT_UMCBL", "HTX": "{c}-USDT", "KuCoin": "{k}USDTM", "MEXC": "{c}_USDT",
    "BingX": "{c}-USDT", "Hyperliquid": "{c}-USD",
}
PAIR_VENUES: tuple[str, ...] = tuple(_PAIR_FORMATS)
# Native ids of venues pairs-markets does not list, as the recordings spell them (§7).
_OTHER_PAIR_FORMATS: dict[str, str] = {
    "Bitmex": "{k}USDT", "Kraken": "PF_{k}USD", "WhiteBIT": "{c}_PERP",
}


@dataclass(frozen=True)
class CoinProfile:
    """Where a coin's calm baseline sits.

    ``funding_level`` (percent per 8 h) overrides the calm funding level drawn from the symbol;
    synthetic coins set it.
    """

    symbol: str
    price: float
    open_interest_usd: float
    funding_level: float | None = None

    @property
    def size(self) -> float:
        """The coin's size relative to BTC (by open interest); scales flows and events."""
        return self.open_interest_usd / 67e9


DEFAULT_COINS: tuple[CoinProfile, ...] = (
    CoinProfile("BTC", 97_000.0, 67e9), CoinProfile("ETH", 3_200.0, 35e9),
    CoinProfile("SOL", 140.0, 8e9), CoinProfile("XRP", 2.3, 4e9),
    CoinProfile("DOGE", 0.32, 2.5e9), CoinProfile("BNB", 650.0, 1.0e9),
    CoinProfile("ADA", 0.75, 0.8e9), CoinProfile("AVAX", 25.0, 0.5e9),
    CoinProfile("LINK", 15.0, 0.7e9), CoinProfile("LTC", 95.0, 0.6e9),
    CoinProfile("TON", 3.0, 0.25e9), CoinProfile("SUI", 3.2, 1.2e9),
    CoinProfile("PEPE", 0.00001, 0.4e9), CoinProfile("1000PEPE", 0.01, 0.3e9),
    CoinProfile("WIF", 0.9, 0.35e9), CoinProfile("ARB", 0.45, 0.3e9),
    CoinProfile("OP", 0.8, 0.25e9), CoinProfile("APT", 5.5, 0.3e9),
    CoinProfile("NEAR", 2.8, 0.35e9), CoinProfile("TRX", 0.24, 0.25e9),
    CoinProfile("DOT", 4.2, 0.35e9), CoinProfile("BCH", 450.0, 0.6e9),
    CoinProfile("HYPE", 38.0, 1.8e9), CoinProfile("42", 0.05, 0.01e9),
)

_QUOTES = ("USDT", "USDC", "USD", "BUSD")


@lru_cache(maxsize=65536)
def unit(*parts: object) -> float:
    """A deterministic number in [0, 1) for ``parts`` (stable across runs and machines)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def spread(*parts: object) -> float:
    """A deterministic number in [-1, 1)."""
    return unit(*parts) * 2.0 - 1.0


@lru_cache(maxsize=65536)
def listed(coin: str, venue: str) -> bool:
    """Whether ``venue`` lists a perpetual on ``coin``."""
    if coin in ("BTC", "ETH"):
        return True
    if venue in MAJORS_ONLY:
        return False
    synthetic = _SYNTHETIC_VENUES.get(coin)
    if synthetic is not None:
        return venue in synthetic
    return venue in CORE_VENUES or unit(coin, venue, "listed") < 0.6


@lru_cache(maxsize=65536)
def shares(coin: str, table: str) -> tuple[tuple[str, float], ...]:
    """(venue, share) of the venues listing ``coin`` in one of the tables (``oi``, ``taker``,
    ``liq``), summing to 1."""
    rows = {
        "oi": [(v, w) for v, w, _ in OI_VENUES],
        "taker": [(v, w) for v, w, _ in TAKER_VENUES],
        "liq": list(LIQUIDATION_VENUES),
    }[table]
    rows = [(v, w) for v, w in rows if listed(coin, v)]
    total = sum(w for _, w in rows)
    return tuple((v, w / total) for v, w in rows)


def share_of(coin: str, table: str, venues: frozenset[str] | None) -> float:
    """The part of the whole market that ``venues`` (None = all) carry."""
    if venues is None:
        return 1.0
    return sum(w for v, w in shares(coin, table) if v in venues)


# -- synthetic coins ---------------------------------------------------------------------------

UNIVERSE_SIZE = 925
# Every synthetic coin trades on at least one of these (they are in every share table).
_HOME_VENUES = (("Binance", 0.30), ("Bybit", 0.25), ("Gate", 0.20), ("OKX", 0.15),
                ("Hyperliquid", 0.10))
_ONSETS = ("B", "C", "D", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "T", "V", "W",
           "Z", "BL", "BR", "CR", "DR", "FL", "GR", "KR", "PL", "PR", "SK", "ST", "TR", "QU", "X")
_VOWELS = ("A", "E", "I", "O", "U", "A", "O", "I")
_CODAS = ("", "", "", "X", "N", "R", "S", "T", "K", "M", "L")
_SUFFIXES = ("AI", "FI", "INU", "DAO", "SWAP", "CAT", "DOG", "BOT", "X", "PAD", "VERSE")


def _synthetic_symbol(i: int) -> str:
    def pick(options: tuple[str, ...], *parts: object) -> str:
        return options[int(unit("syn", i, *parts) * len(options))]

    kind = unit("syn", i, "kind")
    syllables = 1 + int(unit("syn", i, "len") * 2.4)
    stem = "".join(pick(_ONSETS, "on", k) + pick(_VOWELS, "vo", k) for k in range(syllables))
    stem = (stem + pick(_CODAS, "coda"))[:6]
    if kind < 0.03:
        return "1000" + stem                        # like 1000PEPE
    if kind < 0.06:
        return stem[:1] + str(1 + int(unit("syn", i, "digit") * 9))    # like A8, B3
    if kind < 0.16:
        return stem[:4] + pick(_SUFFIXES, "suffix")
    return stem


def _synthetic(taken: frozenset[str]) -> tuple[tuple[CoinProfile, ...], dict[str, frozenset[str]]]:
    profiles: list[CoinProfile] = []
    venues: dict[str, frozenset[str]] = {}
    seen = set(taken)
    others = sorted({v for v, _, _ in OI_VENUES} | {v for v, _, _ in TAKER_VENUES}
                    | {v for v, _ in LIQUIDATION_VENUES} | set(_PAIR_FORMATS)
                    | {v for v, _ in FUNDING_STABLE_VENUES})
    i = 0
    while len(profiles) < UNIVERSE_SIZE - len(taken):
        i += 1
        symbol = _synthetic_symbol(i)
        if symbol in seen or len(symbol) < 2:
            continue
        seen.add(symbol)
        rank = len(profiles) + 1
        oi = 150e6 / rank ** 0.9
        size = (math.log10(oi) - 5.0) / 3.3                  # ~0 for the smallest, ~1 for the top
        price = 10.0 ** (-6.0 + 8.5 * unit(symbol, "price"))
        price = float(f"{price:.4g}")
        draw = unit(symbol, "home")
        home = _HOME_VENUES[-1][0]
        for venue, weight in _HOME_VENUES:
            if draw < weight:
                home = venue
                break
            draw -= weight
        chance = 0.05 + 0.75 * size
        listed_on = {home} | {v for v in others if v not in MAJORS_ONLY
                              and unit(symbol, v, "listed") < chance}
        venues[symbol] = frozenset(listed_on)
        wild = 1.0 - 0.8 * size
        funding = 0.01 + 0.03 * wild * spread(symbol, "funding") ** 3
        profiles.append(CoinProfile(symbol, price, oi, funding_level=round(funding, 6)))
    return tuple(profiles), venues


def pair_id(coin: str, venue: str) -> str:
    kucoin = "XBT" if coin == "BTC" else coin
    template = _PAIR_FORMATS.get(venue) or _OTHER_PAIR_FORMATS.get(venue, "{c}USDT")
    return template.format(c=coin, k=kucoin)


def pair_label(venue: str) -> str:
    """The ``symbol`` column of pairs-markets, e.g. ``BTC/USDT``."""
    return "{c}/USD" if venue == "Hyperliquid" else "{c}/USDT"


def coin_of_pair(symbol: str, coins: frozenset[str]) -> str | None:
    """The coin a pair id like ``BTCUSDT``, ``BTC-USDT-SWAP`` or ``XBTUSDTM`` trades, if known."""
    text = symbol.strip().upper()
    for prefix in ("PF_",):
        text = text.removeprefix(prefix)
    for suffix in ("-SWAP", "_UMCBL", "_PERP", "PERP"):
        text = text.removesuffix(suffix)
    text = text.replace("-", "").replace("_", "").replace("/", "")
    candidates = [text]
    if text.endswith("M"):              # KuCoin's XBTUSDTM
        candidates.append(text[:-1])
    for cand in candidates:
        for quote in _QUOTES:
            if cand.endswith(quote) and len(cand) > len(quote):
                base = cand[: -len(quote)]
                base = "BTC" if base == "XBT" else base
                if base in coins:
                    return base
    return None


def canonical_exchange(name: str, known: tuple[str, ...] = SUPPORTED_EXCHANGES) -> str | None:
    """The spelling in ``known`` of a case-insensitive ``name`` (``gate.io`` → ``Gate``)."""
    wanted = name.strip().lower().removesuffix(".io")
    for venue in known:
        if venue.lower() == wanted:
            return venue
    return None


def parse_exchange_list(text: str) -> frozenset[str] | None:
    """The venues named in an ``exchange_list`` parameter; None means every venue (``ALL``)."""
    names = [n for n in (part.strip() for part in text.split(",")) if n]
    if any(n.upper() == "ALL" for n in names):
        return None
    found = {canonical_exchange(n, SUPPORTED_EXCHANGES + tuple(v for v, _ in BALANCE_VENUES))
             for n in names}
    return frozenset(v for v in found if v)


SYNTHETIC_COINS, _SYNTHETIC_VENUES = _synthetic(frozenset(p.symbol for p in DEFAULT_COINS))
ALL_COINS: tuple[CoinProfile, ...] = DEFAULT_COINS + SYNTHETIC_COINS
