"""``/api/futures/coins-markets``: every coin's price, open interest, funding, volume,
long/short and liquidations in one list (coinglass-v4.md §13.2; Standard and above).

Each figure comes from the same series as the per-coin endpoints, so a coin's row agrees with
its open-interest and liquidation exchange-lists, the OI-weighted funding history and the taker
list at the same refresh:

- ``open_interest_*`` and ``open_interest_change_percent_*`` = the exchange-list's ``All`` row
  (or the listed venues' part of it with ``exchange_list``);
- ``avg_funding_rate_by_oi`` / ``_by_vol`` = the venues' funding (percent per 8 h, stablecoin
  margin) weighted by open interest / taker volume, i.e. the close of the OI- / volume-weighted
  funding history;
- ``liquidation_usd_*`` = the liquidation exchange-list for that range;
- volume = taker buy + sell volume; ``volume_change_percent_W`` compares the last window W with
  the one before it, ``volume_change_usd_W`` is their difference;
- ``long_short_ratio_W`` is **our reading**: the taker buy/sell volume ratio over the last W
  (the docs give no definition; their example values, near 1 and varying by window, fit taker
  flow and not account ratios, which run 2–3 for BTC).

Rows are ordered by market cap, largest first. Paging: ``per_page`` defaults to **10** (the
default is undocumented; 10 is the strict reading: a client must page or ask for more) and is
capped at 1000; ``page`` defaults to 1; a page past the end is an empty list.
"""

from __future__ import annotations

from core.coinglass import paths as p
from sim.coinglass import universe as u
from sim.coinglass.formats import change_pct, pct, usd
from sim.coinglass.market import DAY, HOUR, Market
from sim.coinglass.query import Endpoint, ParamError, Query
from sim.coinglass.snapshots import oi_split

DEFAULT_PER_PAGE = 10
MAX_PER_PAGE = 1000
PRICE_WINDOWS = (("5m", 300.0), ("15m", 900.0), ("30m", 1800.0), ("1h", HOUR),
                 ("4h", 4 * HOUR), ("12h", 12 * HOUR), ("24h", DAY))
OI_WINDOWS = (("5m", 300.0), ("15m", 900.0), ("30m", 1800.0), ("1h", HOUR), ("4h", 4 * HOUR),
              ("24h", DAY))
VOLUME_WINDOWS = OI_WINDOWS
VOLUME_USD_WINDOWS = (("1h", HOUR), ("4h", 4 * HOUR), ("24h", DAY))
LIQUIDATION_WINDOWS = (("1h", HOUR), ("4h", 4 * HOUR), ("12h", 12 * HOUR), ("24h", DAY))


def market_cap(m: Market, coin: str, t: float) -> float:
    """Circulating value: 25 × the coin's calm open interest, moving with its price."""
    profile = m.state(coin).profile
    return profile.open_interest_usd * 25.0 * m.price(coin, t) / profile.price


def _oi_part(coin: str, t: float, venues: frozenset[str] | None) -> float:
    if venues is None:
        return 1.0
    return sum(w for v, w in oi_split(coin, t) if v in venues)


def _weighted_funding(m: Market, coin: str, table: str, venues: frozenset[str] | None,
                      t: float) -> float:
    rows = [(v, w) for v, w in u.shares(coin, table) if venues is None or v in venues]
    weight = sum(w for _, w in rows)
    if not weight:
        return 0.0
    return m.weighted_funding_8h(coin, [(v, w / weight) for v, w in rows], t)


def coin_row(m: Market, coin: str, now: float, venues: frozenset[str] | None) -> dict:
    """One coin's row as of ``now``."""
    price = m.price(coin, now)
    cap = market_cap(m, coin, now)
    oi = m.open_interest(coin, now) * _oi_part(coin, now, venues)
    taker_part = u.share_of(coin, "taker", venues)

    def volume(start: float, end: float | None = None) -> tuple[float, float]:
        buy, sell = m.taker(coin, start, end)
        return buy * taker_part, sell * taker_part

    day_buy, day_sell = volume(now - DAY)
    row: dict = {
        "symbol": coin, "current_price": price,
        "avg_funding_rate_by_oi": round(_weighted_funding(m, coin, "oi", venues, now), 6),
        "avg_funding_rate_by_vol": round(_weighted_funding(m, coin, "taker", venues, now), 6),
        "market_cap_usd": usd(cap),
        "open_interest_market_cap_ratio": round(oi / cap, 4) if cap else 0.0,
        "open_interest_usd": usd(oi), "open_interest_quantity": round(oi / price, 4),
        "open_interest_volume_ratio": round(oi / (day_buy + day_sell), 4)
        if day_buy + day_sell else 0.0,
    }
    for name, seconds in PRICE_WINDOWS:
        row[f"price_change_percent_{name}"] = pct(change_pct(price, m.price(coin, now - seconds)))
    for name, seconds in OI_WINDOWS:
        before = m.open_interest(coin, now - seconds) * _oi_part(coin, now - seconds, venues)
        row[f"open_interest_change_percent_{name}"] = pct(change_pct(oi, before))
    volumes = {}
    for name, seconds in VOLUME_WINDOWS:
        last = sum(volume(now - seconds))
        previous = sum(volume(now - 2 * seconds, now - seconds))
        volumes[name] = (last, previous)
        row[f"volume_change_percent_{name}"] = pct(change_pct(last, previous))
    for name, _ in VOLUME_USD_WINDOWS:
        last, previous = volumes[name]
        row[f"volume_change_usd_{name}"] = usd(last - previous)
    for name, seconds in PRICE_WINDOWS:
        buy, sell = volume(now - seconds)
        row[f"long_short_ratio_{name}"] = round(buy / sell, 4) if sell else 0.0
    for name, seconds in LIQUIDATION_WINDOWS:
        long_usd, short_usd = m.liquidations(coin, now - seconds, None, venues)
        row[f"liquidation_usd_{name}"] = usd(long_usd + short_usd)
        row[f"long_liquidation_usd_{name}"] = usd(long_usd)
        row[f"short_liquidation_usd_{name}"] = usd(short_usd)
    return row


def _positive_int(q: Query, name: str, default: int) -> int:
    value = q.number(name, default)
    if value is None or value < 1 or value != int(value):
        raise ParamError(f"Invalid parameter '{name}': {q.get(name)}")
    return int(value)


def coins_markets(q: Query) -> list[dict]:
    """One page of coins, largest market cap first."""
    m, now = q.market, q.now
    venues = q.exchanges() if q.get("exchange_list") else None
    per_page = min(MAX_PER_PAGE, _positive_int(q, "per_page", DEFAULT_PER_PAGE))
    page = _positive_int(q, "page", 1)
    coins = [c for c in m.coins()
             if venues is None or any(v in venues for v, _ in u.shares(c, "oi"))]
    coins.sort(key=lambda c: -market_cap(m, c, now))
    return [coin_row(m, c, now, venues) for c in coins[(page - 1) * per_page: page * per_page]]


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(p.COINS_MARKETS, coins_markets),
)
