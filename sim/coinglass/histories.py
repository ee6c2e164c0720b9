"""History (candle) endpoints, built from the same series as the snapshots.

A candle's open is the value at its open time, its close the value just before it ends (or the
current value for the running candle), high/low the extremes of samples and scripted steps
inside it; flows (volume, liquidations) are exact integrals over the candle. JSON types follow
the recordings: price, pair funding, pair taker volume and weighted funding as numeric strings;
OI, liquidation, ratios and aggregated taker volume as numbers.
"""

from __future__ import annotations

from typing import Callable, Iterable

from core.coinglass import paths as p
from sim.coinglass import universe as u
from sim.coinglass.formats import text, usd
from sim.coinglass.market import HOUR, CoinState, Market
from sim.coinglass.query import Candle, Endpoint, NoData, Query
from sim.coinglass.series import Series, term, wave
from sim.coinglass.snapshots import oi_split, share_of, shares, taker_offsets

Sampler = Callable[[float, bool], float]       # (t, before) -> value


def _ohlc(value: Sampler, c: Candle, steps: Iterable[float]) -> tuple[float, float, float, float]:
    first = value(c.open, False)
    last = value(c.end, not c.is_open)
    samples = [first, last]
    span = c.end - c.open
    samples.extend(value(c.open + span * k / 5, False) for k in range(1, 5))
    for s in steps:
        samples.extend((value(s, True), value(s, False)))
    return first, max(samples), min(samples), last


def _steps(c: Candle, *series: Series) -> list[float]:
    return [s for one in series for s in one.step_times(c.open, c.end)]


def _pair(q: Query) -> tuple[str, str]:
    """(coin, venue) of a pair endpoint; the venue must list the coin."""
    coin, venue = q.pair_coin(), q.exchange()
    if not u.listed(coin, venue):
        raise NoData(venue)
    return coin, venue


# -- price and funding ----------------------------------------------------------------------------

def price_history(q: Query) -> list[dict]:
    coin, venue = _pair(q)
    m = q.market
    c = m.state(coin)
    volume_share = dict(shares(coin, "taker")).get(venue, 0.01)

    def price(t: float, before: bool) -> float:
        return m.price(coin, t, before)

    rows = []
    for candle in q.candles():
        o, h, lo, cl = _ohlc(price, candle, _steps(candle, c.price))
        buy, sell = m.taker(coin, candle.open, candle.stop)
        rows.append({"time": candle.time_ms, "open": text(o, c.decimals),
                     "high": text(h, c.decimals), "low": text(lo, c.decimals),
                     "close": text(cl, c.decimals),
                     "volume_usd": text((buy + sell) * volume_share, 4)})
    return rows


def _funding_steps(c: CoinState, candle: Candle, venues: Iterable[str]) -> list[float]:
    extra = [c.funding_adjust[v] for v in venues if v in c.funding_adjust]
    return _steps(candle, c.funding_base, c.funding_spread, *extra)


def funding_history(q: Query) -> list[dict]:
    """A venue's rate per its own funding interval, as strings (recorded)."""
    coin, venue = _pair(q)
    m = q.market
    hours = dict(u.FUNDING_STABLE_VENUES).get(venue) or 8

    def rate(t: float, before: bool) -> float:
        return m.funding_8h(coin, venue, t=t, before=before) * hours / 8

    return [_ohlc_text(candle, rate, _funding_steps(m.state(coin), candle, [venue]), 6)
            for candle in q.candles()]


def _weighted_funding(table: str) -> Callable[[Query], list[dict]]:
    def handler(q: Query) -> list[dict]:
        m, coin = q.market, q.coin()
        weights = shares(coin, table)

        def rate(t: float, before: bool) -> float:
            return m.weighted_funding_8h(coin, weights, t, before)

        venues = [v for v, _ in weights]
        return [_ohlc_text(c, rate, _funding_steps(m.state(coin), c, venues), 6)
                for c in q.candles()]
    return handler


def _ohlc_text(candle: Candle, value: Sampler, steps: list[float], decimals: int) -> dict:
    o, h, lo, c = _ohlc(value, candle, steps)
    return {"time": candle.time_ms, "open": text(o, decimals), "high": text(h, decimals),
            "low": text(lo, decimals), "close": text(c, decimals)}


# -- open interest ------------------------------------------------------------------------------

def _oi_value(q: Query, coin: str, share: float = 1.0) -> Sampler:
    """Open interest (USD, or coins with ``unit=coin``) times a venue share."""
    m = q.market
    in_coins = q.get("unit", "usd").lower() == "coin"

    def value(t: float, before: bool) -> float:
        v = m.open_interest(coin, t, before) * share
        return v / m.price(coin, t, before) if in_coins else v
    return value


def _oi_rows(q: Query, coin: str, value_for: Callable[[Candle], Sampler],
             as_text: bool) -> list[dict]:
    c = q.market.state(coin)
    coins = q.get("unit", "usd").lower() == "coin"
    rows = []
    for candle in q.candles():
        ohlc = _ohlc(value_for(candle), candle, _steps(candle, c.oi, c.price))
        if as_text:
            o, h, lo, cl = (text(x, 4 if coins else 2) for x in ohlc)
        elif coins:
            o, h, lo, cl = (round(x, 4) for x in ohlc)
        else:
            # Recorded: integer literals, except the running candle's close (= the live OI).
            o, h, lo = (int(round(x)) for x in ohlc[:3])
            cl = usd(ohlc[3]) if candle.is_open else int(round(ohlc[3]))
        rows.append({"time": candle.time_ms, "open": o, "high": h, "low": lo, "close": cl})
    return rows


def oi_aggregated_history(q: Query) -> list[dict]:
    coin = q.coin()
    value = _oi_value(q, coin)
    return _oi_rows(q, coin, lambda candle: value, as_text=False)


def oi_history(q: Query) -> list[dict]:
    """Pair OI; the docs show strings and nothing was recorded, so strings. The venue's share
    is taken at each candle's end (its running value matches the exchange list)."""
    coin, venue = _pair(q)
    return _oi_rows(q, coin, lambda c: _oi_value(q, coin, dict(oi_split(coin, c.end))[venue]),
                    as_text=True)


def _margin_history(stable: bool) -> Callable[[Query], list[dict]]:
    """Recorded: stablecoin-margined OI arrives in coins (floats), coin-margined in USD (ints)."""
    def handler(q: Query) -> list[dict]:
        m, coin, venues = q.market, q.coin(), q.exchanges()
        margin = {v: cm for v, _, cm in u.OI_VENUES}

        def part(t: float) -> float:
            return sum(w * ((1 - margin[v]) if stable else margin[v])
                       for v, w in oi_split(coin, t) if venues is None or v in venues)

        c = m.state(coin)
        rows = []
        for candle in q.candles():
            share = part(candle.end)

            def value(t: float, before: bool) -> float:
                v = m.open_interest(coin, t, before) * share
                return v / m.price(coin, t, before) if stable else v

            ohlc = _ohlc(value, candle, _steps(candle, c.oi, c.price))
            o, h, lo, cl = (round(x, 3) for x in ohlc) if stable else (int(round(x)) for x in ohlc)
            rows.append({"time": candle.time_ms, "open": o, "high": h, "low": lo, "close": cl})
        return rows
    return handler


# -- liquidations ----------------------------------------------------------------------------------

def liquidation_aggregated_history(q: Query) -> list[dict]:
    m, coin, venues = q.market, q.coin(), q.exchanges()
    rows = []
    for c in q.candles():
        long_usd, short_usd = m.liquidations(coin, c.open, c.stop, venues)
        rows.append({"time": c.time_ms, "aggregated_long_liquidation_usd": usd(long_usd),
                     "aggregated_short_liquidation_usd": usd(short_usd)})
    return rows


def liquidation_history(q: Query) -> list[dict]:
    """Pair liquidations; strings as in the docs example (never recorded)."""
    coin, venue = _pair(q)
    venues = frozenset((venue,))
    rows = []
    for c in q.candles():
        long_usd, short_usd = q.market.liquidations(coin, c.open, c.stop, venues)
        rows.append({"time": c.time_ms, "long_liquidation_usd": text(long_usd, 5),
                     "short_liquidation_usd": text(short_usd, 5)})
    return rows


# -- long/short ratios ---------------------------------------------------------------------------

def _ratio_history(prefix: str, attribute: str) -> Callable[[Query], list[dict]]:
    """The share in force at each candle's end (the current one for the running candle)."""
    def handler(q: Query) -> list[dict]:
        coin, _venue = _pair(q)
        series: Series = getattr(q.market.state(coin), attribute)
        rows = []
        for c in q.candles():
            long_pct = min(99.0, max(1.0, round(series.at(c.end, not c.is_open), 2)))
            short_pct = round(100.0 - long_pct, 2)
            rows.append({"time": c.time_ms, f"{prefix}_long_percent": long_pct,
                         f"{prefix}_short_percent": short_pct,
                         f"{prefix}_long_short_ratio": round(long_pct / short_pct, 2)})
        return rows
    return handler


# -- taker volume and CVD -------------------------------------------------------------------------

def _venue_taker(q: Query, coin: str, venue: str, c: Candle) -> tuple[float, float]:
    share = dict(shares(coin, "taker")).get(venue, 0.0)
    buy, sell = q.market.taker(coin, c.open, c.stop)
    v_buy = share * (buy + taker_offsets(coin).get(venue, 0.0) / 100.0 * (buy + sell))
    return v_buy, share * (buy + sell) - v_buy


def taker_history(q: Query) -> list[dict]:
    coin, venue = _pair(q)
    rows = []
    for c in q.candles():
        buy, sell = _venue_taker(q, coin, venue, c)
        rows.append({"time": c.time_ms, "taker_buy_volume_usd": text(buy, 4),
                     "taker_sell_volume_usd": text(sell, 4)})
    return rows


def taker_history_legacy(q: Query) -> list[dict]:
    """The pre-v2 path; recorded values are coin quantities despite the ``_usd`` names."""
    coin, venue = _pair(q)
    rows = []
    for c in q.candles():
        buy, sell = _venue_taker(q, coin, venue, c)
        price = q.market.price(coin, c.end, not c.is_open)
        rows.append({"time": c.time_ms, "taker_buy_volume_usd": text(buy / price, 3),
                     "taker_sell_volume_usd": text(sell / price, 3)})
    return rows


def taker_aggregated_history(q: Query) -> list[dict]:
    m, coin = q.market, q.coin()
    part = share_of(coin, "taker", q.exchanges())
    in_coins = q.get("unit", "usd").lower() == "coin"
    rows = []
    for c in q.candles():
        buy, sell = m.taker(coin, c.open, c.stop)
        div = m.price(coin, c.end, not c.is_open) if in_coins else 1.0
        rows.append({"time": c.time_ms, "aggregated_buy_volume_usd": usd(buy * part / div),
                     "aggregated_sell_volume_usd": usd(sell * part / div)})
    return rows


def cvd_history(q: Query) -> list[dict]:
    """``cum_vol_delta`` accumulates from the first returned candle (official example)."""
    coin, venue = _pair(q)
    rows, cumulative = [], 0.0
    for c in q.candles():
        buy, sell = _venue_taker(q, coin, venue, c)
        cumulative += buy - sell
        rows.append({"time": c.time_ms, "taker_buy_vol": usd(buy), "taker_sell_vol": usd(sell),
                     "cum_vol_delta": usd(cumulative)})
    return rows


def aggregated_cvd_history(q: Query) -> list[dict]:
    m, coin = q.market, q.coin()
    part = share_of(coin, "taker", q.exchanges())
    rows, cumulative = [], 0.0
    for c in q.candles():
        buy, sell = m.taker(coin, c.open, c.stop)
        cumulative += (buy - sell) * part
        rows.append({"time": c.time_ms, "agg_taker_buy_vol": usd(buy * part),
                     "agg_taker_sell_vol": usd(sell * part), "cum_vol_delta": usd(cumulative)})
    return rows


# -- order-book depth ------------------------------------------------------------------------------

def _depth(m: Market, coin: str, t: float, range_pct: float, side: str) -> float:
    """Whole-market resting USD within ``range_pct`` of price on one side."""
    wiggle = wave([term(0.25, (3 + 5 * u.unit(coin, side, "dp")) * HOUR,
                        u.unit(coin, side, "df"))], t)
    return m.open_interest(coin, t) * 0.012 * range_pct ** 0.7 * (1.0 + wiggle)


def _depth_rows(q: Query, coin: str, part: Callable[[float], float], prefix: str) -> list[dict]:
    m = q.market
    range_pct = q.number("range", 1.0) or 1.0
    rows = []
    for c in q.candles():
        price = m.price(coin, c.end, not c.is_open)
        bids = _depth(m, coin, c.end, range_pct, "bid") * part(c.end)
        asks = _depth(m, coin, c.end, range_pct, "ask") * part(c.end)
        rows.append({f"{prefix}bids_usd": usd(bids),
                     f"{prefix}bids_quantity": round(bids / price, 3),
                     f"{prefix}asks_usd": usd(asks),
                     f"{prefix}asks_quantity": round(asks / price, 3),
                     "time": c.time_ms})          # last, as recorded
    return rows


def ask_bids_history(q: Query) -> list[dict]:
    coin, venue = _pair(q)
    return _depth_rows(q, coin, lambda t: dict(oi_split(coin, t)).get(venue, 0.0), "")


def aggregated_ask_bids_history(q: Query) -> list[dict]:
    coin, venues = q.coin(), q.exchanges()
    return _depth_rows(q, coin, lambda t: sum(w for v, w in oi_split(coin, t)
                                              if venues is None or v in venues), "aggregated_")


_PAIR = ("exchange", "symbol", "interval")
_COIN = ("symbol", "interval")
_COIN_LIST = ("exchange_list", "symbol", "interval")

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(p.PRICE_HISTORY, price_history, _PAIR),
    Endpoint(p.FUNDING_HISTORY, funding_history, _PAIR),
    Endpoint(p.FUNDING_OI_WEIGHT_HISTORY, _weighted_funding("oi"), _COIN),
    Endpoint(p.FUNDING_VOL_WEIGHT_HISTORY, _weighted_funding("taker"), _COIN),
    Endpoint(p.OI_HISTORY, oi_history, _PAIR),
    Endpoint(p.OI_AGGREGATED_HISTORY, oi_aggregated_history, _COIN),
    Endpoint(p.OI_AGGREGATED_STABLECOIN_HISTORY, _margin_history(True), _COIN_LIST),
    Endpoint(p.OI_AGGREGATED_COIN_MARGIN_HISTORY, _margin_history(False), _COIN_LIST),
    Endpoint(p.LIQUIDATION_HISTORY, liquidation_history, _PAIR),
    Endpoint(p.LIQUIDATION_AGGREGATED_HISTORY, liquidation_aggregated_history, _COIN_LIST),
    Endpoint(p.GLOBAL_LONG_SHORT_HISTORY, _ratio_history("global_account", "long_pct"), _PAIR),
    Endpoint(p.TOP_LONG_SHORT_ACCOUNT_HISTORY, _ratio_history("top_account", "top_long_pct"),
             _PAIR),
    Endpoint(p.TOP_LONG_SHORT_POSITION_HISTORY,
             _ratio_history("top_position", "top_position_long_pct"), _PAIR),
    Endpoint(p.TAKER_HISTORY, taker_history, _PAIR),
    Endpoint(p.TAKER_HISTORY_LEGACY, taker_history_legacy, _PAIR),
    Endpoint(p.TAKER_AGGREGATED_HISTORY, taker_aggregated_history, _COIN_LIST),
    Endpoint(p.CVD_HISTORY, cvd_history, _PAIR),
    Endpoint(p.AGGREGATED_CVD_HISTORY, aggregated_cvd_history, _COIN_LIST),
    Endpoint(p.ORDERBOOK_ASK_BIDS_HISTORY, ask_bids_history, _PAIR),
    Endpoint(p.ORDERBOOK_AGGREGATED_ASK_BIDS_HISTORY, aggregated_ask_bids_history, _COIN_LIST),
)
