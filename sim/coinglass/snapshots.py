"""Snapshot endpoints: supported lists, funding per venue, OI/liquidation/taker exchange lists,
pairs-markets and exchange balances. Field names and JSON types follow the recorded bodies."""

from __future__ import annotations

from core.coinglass import paths as p
from sim.coinglass import universe as u
from sim.coinglass.formats import change_pct, ms, pct, usd
from sim.coinglass.market import DAY, HOUR, Market
from sim.coinglass.query import Endpoint, Query
from sim.coinglass.series import term, wave
from sim.coinglass.universe import share_of, shares

OI_WINDOWS = (("5m", 300.0), ("15m", 900.0), ("30m", 1800.0), ("1h", HOUR), ("4h", 4 * HOUR),
              ("24h", DAY))
LIQUIDATION_RANGES = {"1h": HOUR, "4h": 4 * HOUR, "12h": 12 * HOUR, "24h": DAY}
TAKER_RANGES = {"5m": 300.0, "15m": 900.0, "30m": 1800.0, "1h": HOUR, "4h": 4 * HOUR,
                "12h": 12 * HOUR, "24h": DAY}
# `range=h4` got data in a recorded run (coinglass-v4.md §7): accept the h/m-prefixed spellings.
RANGE_ALIASES = {f"{unit}{n}": f"{n}{unit}" for n in (1, 4, 5, 12, 15, 24, 30) for unit in "hm"}
# Venues whose funding rows carry next_funding_time: null in the recording.
_NO_NEXT_FUNDING = frozenset({"dYdX", "MEXC", "Gate", "Crypto.com", "Coinbase", "Hyperliquid",
                              "Bitget", "Deribit"})
_TOKEN_MARGIN_COINS = frozenset({"BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "LTC", "BCH", "LINK",
                                 "DOT"})


def oi_split(coin: str, t: float) -> list[tuple[str, float]]:
    """Each venue's share of open interest at ``t``; wiggles slowly, always sums to 1."""
    raw = [(v, w * (1.0 + wave([term(0.02, (6 + 14 * u.unit(coin, v, "op")) * HOUR,
                                     u.unit(coin, v, "of"))], t)))
           for v, w in shares(coin, "oi")]
    total = sum(w for _, w in raw)
    return [(v, w / total) for v, w in raw]


def taker_offsets(coin: str) -> dict[str, float]:
    """Per-venue buy-ratio offsets in points, weighted to zero so venues sum to the coin."""
    table = {v: d for v, _, d in u.TAKER_VENUES}
    rows = shares(coin, "taker")
    mean = sum(w * table[v] for v, w in rows)
    return {v: table[v] - mean for v, _ in rows}


def _coin_margin_part(venue: str) -> float:
    return next(cm for v, _, cm in u.OI_VENUES if v == venue)


# -- supported lists ----------------------------------------------------------------------

def supported_coins(q: Query) -> list[str]:
    return q.market.coins()


def supported_exchanges(q: Query) -> list[str]:
    return list(u.SUPPORTED_EXCHANGES)


def supported_exchange_pairs(q: Query) -> dict:
    venues = u.PAIR_VENUES
    if q.get("exchange"):
        venues = (q.exchange(u.PAIR_VENUES),)
    return {v: [{"instrument_id": u.pair_id(c, v), "base_asset": c,
                 "quote_asset": "USD" if v == "Hyperliquid" else "USDT"}
                for c in q.market.coins() if u.listed(c, v)] for v in venues}


# -- funding ---------------------------------------------------------------------------------

def _next_funding_ms(venue: str, hours: int, now: float) -> int | None:
    if venue in _NO_NEXT_FUNDING:
        return None
    step = hours * HOUR
    return ms((now // step + 1) * step)


def _funding_row(market: Market, coin: str, venue: str, interval: int | None, margin: str,
                 now: float) -> dict:
    listed = u.listed(coin, venue) and (margin == "stablecoin" or coin in _TOKEN_MARGIN_COINS)
    if not listed:
        return {"exchange": venue, "funding_rate": None, "funding_rate_interval": None,
                "next_funding_time": None}
    hours = interval or 8
    rate = market.funding_8h(coin, venue, margin, now) * hours / 8.0
    return {"exchange": venue, "funding_rate": round(rate, 6), "funding_rate_interval": interval,
            "next_funding_time": _next_funding_ms(venue, hours, now)}


def funding_exchange_list(q: Query) -> list[dict]:
    """Every coin, 18 stablecoin- and 8 coin-margined venues each, null-padded (recorded)."""
    m, now = q.market, q.now
    return [{"symbol": c,
             "stablecoin_margin_list": [_funding_row(m, c, v, i, "stablecoin", now)
                                        for v, i in u.FUNDING_STABLE_VENUES],
             "token_margin_list": [_funding_row(m, c, v, i, "token", now)
                                   for v, i in u.FUNDING_TOKEN_VENUES]}
            for c in m.coins()]


def funding_accumulated_exchange_list(q: Query) -> list[dict]:
    days = {"1d": 1, "7d": 7, "30d": 30, "365d": 365}[
        q.choice("range", ("1d", "7d", "30d", "365d"))]
    m, now = q.market, q.now

    def row(coin: str, venue: str, margin: str) -> dict:
        rate = _funding_row(m, coin, venue, 8, margin, now)["funding_rate"]
        value = None if rate is None else round(rate * 3 * days, 8)
        return {"exchange": venue.upper(), "funding_rate": value}

    return [{"symbol": c,
             "stablecoin_margin_list": [row(c, v, "stablecoin")
                                        for v, _ in u.FUNDING_STABLE_VENUES],
             "token_margin_list": [row(c, v, "token") for v, _ in u.FUNDING_TOKEN_VENUES]}
            for c in m.coins()]


# -- open interest, liquidations, taker flow -------------------------------------------------------

def oi_exchange_list(q: Query) -> list[dict]:
    """``All`` first, then venues by size; every change is the series' own ratio."""
    m, now, coin = q.market, q.now, q.coin()
    price = m.price(coin, now)
    total_now = m.open_interest(coin, now)
    totals_before = {w: m.open_interest(coin, now - s) for w, s in OI_WINDOWS}
    split_now = oi_split(coin, now)
    splits_before = {w: dict(oi_split(coin, now - s)) for w, s in OI_WINDOWS}

    def row(name: str, oi: float, coin_margin: float, before: dict[str, float]) -> dict:
        stable = oi - coin_margin
        out = {"exchange": name, "symbol": coin, "open_interest_usd": usd(oi),
               "open_interest_quantity": round(oi / price, 4),
               "open_interest_by_coin_margin": usd(coin_margin),
               "open_interest_by_stable_coin_margin": usd(stable),
               "open_interest_quantity_by_coin_margin": round(coin_margin / price, 4),
               "open_interest_quantity_by_stable_coin_margin": round(stable / price, 4)}
        for w, _ in OI_WINDOWS:
            out[f"open_interest_change_percent_{w}"] = pct(change_pct(oi, before[w]))
        return out

    venues = []
    for venue, share in split_now:
        oi = total_now * share
        before = {w: totals_before[w] * splits_before[w][venue] for w, _ in OI_WINDOWS}
        venues.append(row(venue, oi, oi * _coin_margin_part(venue), before))
    venues.sort(key=lambda r: -r["open_interest_usd"])
    coin_margin = sum(r["open_interest_by_coin_margin"] for r in venues)
    return [row("All", total_now, coin_margin, totals_before), *venues]


def liquidation_exchange_list(q: Query) -> list[dict]:
    """``All`` first; keys ``longLiquidation_usd``/``shortLiquidation_usd`` as recorded."""
    window = LIQUIDATION_RANGES[q.choice("range", tuple(LIQUIDATION_RANGES), RANGE_ALIASES)]
    m, now = q.market, q.now
    coins = [q.coin()] if q.get("symbol") else m.coins()
    by_venue: dict[str, list[float]] = {}
    total_long = total_short = 0.0
    for coin in coins:
        long_usd, short_usd = m.liquidations(coin, now - window)
        total_long += long_usd
        total_short += short_usd
        venues = {v for v, _ in shares(coin, "liq")}
        venues.update(o.exchange for o in m.orders(coin, now - window))
        for venue in venues:
            v_long, v_short = m.liquidations(coin, now - window, venues=frozenset((venue,)))
            acc = by_venue.setdefault(venue, [0.0, 0.0])
            acc[0] += v_long
            acc[1] += v_short

    def row(name: str, long_usd: float, short_usd: float) -> dict:
        return {"exchange": name, "liquidation_usd": usd(long_usd + short_usd),
                "longLiquidation_usd": usd(long_usd), "shortLiquidation_usd": usd(short_usd)}

    venues = sorted((row(v, lo, sh) for v, (lo, sh) in by_venue.items()),
                    key=lambda r: -r["liquidation_usd"])
    return [row("All", total_long, total_short), *venues]


def taker_exchange_list(q: Query) -> dict:
    """An object: the coin's totals plus ``exchange_list``; ratios in percent."""
    window = TAKER_RANGES[q.choice("range", tuple(TAKER_RANGES), RANGE_ALIASES)]
    m, now, coin = q.market, q.now, q.coin()
    buy, sell = m.taker(coin, now - window)
    total = buy + sell
    offsets = taker_offsets(coin)
    rows = []
    for venue, share in shares(coin, "taker"):
        v_total = total * share
        v_buy = share * (buy + offsets[venue] / 100.0 * total)
        rows.append({"buy_ratio": pct(v_buy / v_total * 100) if v_total else 0.0,
                     "buy_vol_usd": usd(v_buy), "exchange": venue,
                     "sell_ratio": pct((1 - v_buy / v_total) * 100) if v_total else 0.0,
                     "sell_vol_usd": usd(v_total - v_buy)})
    buy_ratio = buy / total * 100 if total else 50.0
    return {"symbol": coin, "buy_ratio": pct(buy_ratio), "sell_ratio": pct(100 - buy_ratio),
            "buy_vol_usd": usd(buy), "sell_vol_usd": usd(sell), "exchange_list": rows}


# -- pairs-markets ---------------------------------------------------------------------------------

def pairs_markets(q: Query) -> list[dict]:
    """One USDT perpetual per venue with price, volume, OI, liquidations and funding."""
    m, now, coin = q.market, q.now, q.coin()
    decimals = m.state(coin).decimals
    price, price_24h = m.price(coin, now), m.price(coin, now - DAY)
    buy, sell = m.taker(coin, now - DAY)
    buy_prev, sell_prev = m.taker(coin, now - 2 * DAY, now - DAY)
    oi_now, oi_24h = m.open_interest(coin, now), m.open_interest(coin, now - DAY)
    split_now, split_24h = dict(oi_split(coin, now)), dict(oi_split(coin, now - DAY))
    taker_share, liq_share = dict(shares(coin, "taker")), dict(shares(coin, "liq"))
    offsets = taker_offsets(coin)
    intervals = dict(u.FUNDING_STABLE_VENUES)
    rows = []
    for venue in u.PAIR_VENUES:
        if not u.listed(coin, venue):
            continue
        vol_share = taker_share.get(venue, 0.01)
        volume = (buy + sell) * vol_share
        v_buy = vol_share * (buy + offsets.get(venue, 0.0) / 100.0 * (buy + sell))
        volume_prev = (buy_prev + sell_prev) * vol_share
        oi = oi_now * split_now.get(venue, 0.0)
        oi_prev = oi_24h * split_24h.get(venue, 0.0)
        ratio, ratio_prev = oi / volume, oi_prev / volume_prev
        hours = intervals.get(venue) or 8
        funding = m.funding_8h(coin, venue, t=now)
        basis = 1 + 0.0004 * u.spread(coin, venue, "index")
        in_liq = venue in liq_share
        liq_long, liq_short = m.liquidations(coin, now - DAY, venues=frozenset((venue,)))
        rows.append({
            "instrument_id": u.pair_id(coin, venue), "exchange_name": venue,
            "symbol": u.pair_label(venue).format(c=coin), "current_price": price,
            "index_price": round(price * basis, decimals + 2),
            "price_change_percent_24h": pct(change_pct(price, price_24h)),
            "volume_usd": usd(volume),
            "volume_usd_change_percent_24h": pct(change_pct(volume, volume_prev)),
            "long_volume_usd": usd(v_buy), "short_volume_usd": usd(volume - v_buy),
            "long_volume_quantity": int(v_buy / price * 32),
            "short_volume_quantity": int((volume - v_buy) / price * 32),
            "open_interest_quantity": round(oi / price, 4), "open_interest_usd": usd(oi),
            "open_interest_change_percent_24h": pct(change_pct(oi, oi_prev)),
            "long_liquidation_usd_24h": round(liq_long, 2) if in_liq or liq_long else None,
            "short_liquidation_usd_24h": round(liq_short, 2) if in_liq or liq_short else None,
            "funding_rate": None if funding is None else round(funding * hours / 8, 6),
            "next_funding_time": _next_funding_ms(venue, hours, now),
            "open_interest_volume_radio": round(ratio, 4),
            "oi_vol_ratio_change_percent_24h": pct(change_pct(ratio, ratio_prev)),
        })
    rows.sort(key=lambda r: -r["volume_usd"])
    return rows


# -- exchange balances -------------------------------------------------------------------------

def exchange_balance_list(q: Query) -> list[dict]:
    """Coins held per exchange with 1d/7d/30d changes (coin units; percent with 2 decimals)."""
    m, now, coin = q.market, q.now, q.coin()
    current = m.exchange_balances(coin, now)
    past = {d: dict(m.exchange_balances(coin, now - d * DAY)) for d in (1, 7, 30)}
    rows = []
    for venue, balance in current:
        row = {"exchange_name": venue, "total_balance": round(balance, 6)}
        for d in (1, 7, 30):
            before = past[d][venue]
            row[f"balance_change_{d}d"] = round(balance - before, 6)
            row[f"balance_change_percent_{d}d"] = pct(change_pct(balance, before))
        rows.append(row)
    rows.sort(key=lambda r: -r["total_balance"])
    return rows


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(p.SUPPORTED_COINS, supported_coins),
    Endpoint(p.SUPPORTED_EXCHANGES, supported_exchanges),
    Endpoint(p.SUPPORTED_EXCHANGE_PAIRS, supported_exchange_pairs, empty=dict),
    Endpoint(p.FUNDING_EXCHANGE_LIST, funding_exchange_list),
    Endpoint(p.FUNDING_ACCUMULATED_EXCHANGE_LIST, funding_accumulated_exchange_list, ("range",)),
    Endpoint(p.OI_EXCHANGE_LIST, oi_exchange_list, ("symbol",)),
    Endpoint(p.LIQUIDATION_EXCHANGE_LIST, liquidation_exchange_list, ("range",)),
    Endpoint(p.TAKER_EXCHANGE_LIST, taker_exchange_list, ("symbol", "range"), empty=dict),
    Endpoint(p.PAIRS_MARKETS, pairs_markets, ("symbol",)),
    Endpoint(p.EXCHANGE_BALANCE_LIST, exchange_balance_list, ("symbol",)),
)
