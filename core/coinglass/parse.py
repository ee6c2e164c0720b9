"""Turn CoinGlass ``data`` payloads into typed results, trusting nothing about JSON types.

The real API sends numbers as strings on some endpoints and as numbers on others, sometimes
mixed within one row; fields can be ``null`` or missing; ``data`` can be a list, an object or
a list holding one object (coinglass-v4.md §2.2, coinglass-recorded/README.md). So every
numeric field goes through :func:`num`, rows that lack a required field are skipped rather
than read as zero, and a payload of the wrong kind raises :class:`MalformedResponse`.
Symbols are never coerced: ``"42"`` is a coin.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Iterable

from core.coinglass.errors import MalformedResponse
from core.coinglass.models import (
    Candle, CoinMarket, CvdPoint, DominancePoint, ExchangeBalance, FundingVenue, LargeOrder,
    LiquidationList, LiquidationOrder, LiquidationPoint, LiquidationRow, MapLevel, Netflow,
    OpenInterestList, OpenInterestRow, PairMarket, RatioPoint, Subscription, TakerList,
    TakerPoint, TakerRow, WhaleAlert,
)
from core.plans import Plan

OI_WINDOWS = ("5m", "15m", "30m", "1h", "4h", "24h")
NETFLOW_WINDOWS = ("5m", "15m", "30m", "1h", "4h", "12h", "24h", "1d", "7d")


def num(value: Any) -> float | None:
    """A finite float from a JSON number or numeric string; None for null, junk or bools."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def timestamp(value: Any) -> datetime | None:
    """A UTC time from milliseconds (or seconds: a few endpoints send those; §1)."""
    number = num(value)
    if number is None or number <= 0:
        return None
    seconds = number / 1000.0 if number > 1e11 else number
    try:
        return datetime.fromtimestamp(seconds, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)     # a symbol like 42 sent as a number: keep its digits
    return None


def rows(data: Any, endpoint: str) -> list[dict]:
    """The list of row objects of a list-shaped payload (None counts as empty)."""
    if data is None:
        return []
    if isinstance(data, dict):
        # some list endpoints wrap the list: {"list": [...]} / {"data": [...]}
        for key in ("list", "data", "rows"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            raise MalformedResponse(f"{endpoint} sent an object where a list was expected",
                                    endpoint=endpoint)
    if not isinstance(data, list):
        raise MalformedResponse(f"{endpoint} sent {type(data).__name__} where a list was expected",
                                endpoint=endpoint)
    return [row for row in data if isinstance(row, dict)]


def single_object(data: Any, endpoint: str) -> dict | None:
    """An object payload, accepting the documented list-of-one-object variant."""
    if data is None:
        return None
    if isinstance(data, list):
        objects = [row for row in data if isinstance(row, dict)]
        return objects[0] if objects else None
    if isinstance(data, dict):
        return data
    raise MalformedResponse(f"{endpoint} sent {type(data).__name__} where an object was expected",
                            endpoint=endpoint)


def _first(row: dict, *names: str) -> Any:
    for name in names:
        if row.get(name) is not None:
            return row[name]
    return None


# --- account --------------------------------------------------------------------------------

def subscription(data: Any, endpoint: str) -> Subscription:
    obj = single_object(data, endpoint)
    if obj is None:
        raise MalformedResponse(f"{endpoint} sent no subscription", endpoint=endpoint)
    level = text(obj.get("level"))
    expired = obj.get("expired")
    expires_at = timestamp(obj.get("expire_time"))
    if not isinstance(expired, bool):
        expired = bool(expires_at and expires_at < datetime.now(timezone.utc))
    return Subscription(level=level.upper() if level else None,
                        plan=Plan.parse(level) if level else None,
                        expires_at=expires_at, expired=expired)


def symbols(data: Any, endpoint: str) -> list[str]:
    if not isinstance(data, list):
        raise MalformedResponse(f"{endpoint} sent no list of coins", endpoint=endpoint)
    return [s for s in (text(v) for v in data) if s]


# --- funding --------------------------------------------------------------------------------

def funding_exchange_list(data: Any, endpoint: str,
                          coins: frozenset[str] | None = None) -> dict[str, list[FundingVenue]]:
    """Each coin's venues with a known funding rate, keyed by upper-case symbol.

    The list holds every coin CoinGlass tracks (925 in a Nov-2025 capture); ``coins`` limits
    the parsing to the ones asked for.
    """
    result: dict[str, list[FundingVenue]] = {}
    for row in rows(data, endpoint):
        symbol = text(row.get("symbol"))
        if not symbol or (coins is not None and symbol.upper() not in coins):
            continue
        venues: list[FundingVenue] = []
        for margin, key in (("stablecoin", "stablecoin_margin_list"),
                            ("token", "token_margin_list")):
            for item in row.get(key) or ():
                if not isinstance(item, dict):
                    continue
                exchange = text(item.get("exchange"))
                rate = num(item.get("funding_rate"))
                if not exchange or rate is None:
                    continue          # the API pads each list with all-null entries
                interval = num(item.get("funding_rate_interval"))
                venues.append(FundingVenue(
                    exchange=exchange, margin=margin, rate_pct=rate,
                    interval_hours=interval if interval and interval > 0 else None,
                    next_funding_time=timestamp(item.get("next_funding_time")),
                ))
        result[symbol.upper()] = venues
    return result


# --- open interest --------------------------------------------------------------------------

def _oi_row(row: dict) -> OpenInterestRow | None:
    exchange = text(row.get("exchange"))
    usd = num(row.get("open_interest_usd"))
    if not exchange or usd is None:
        return None
    changes = {}
    for window in OI_WINDOWS:
        value = num(row.get(f"open_interest_change_percent_{window}"))
        if value is not None:
            changes[window] = value
    return OpenInterestRow(exchange=exchange, usd=usd,
                           stablecoin_margin_usd=num(row.get("open_interest_by_stable_coin_margin")),
                           change_pct=changes, quantity=num(row.get("open_interest_quantity")))


def open_interest_exchange_list(data: Any, endpoint: str) -> OpenInterestList:
    parsed = [r for r in (_oi_row(row) for row in rows(data, endpoint)) if r]
    total = next((r for r in parsed if r.exchange.lower() == "all"), None)
    return OpenInterestList(total=total,
                            exchanges=tuple(r for r in parsed if r.exchange.lower() != "all"))


# --- liquidations ---------------------------------------------------------------------------

def liquidation_exchange_list(data: Any, endpoint: str) -> LiquidationList:
    """Reads the real ``longLiquidation_usd`` keys, with the documented snake_case as fallback."""
    parsed = []
    for row in rows(data, endpoint):
        exchange = text(row.get("exchange"))
        long_usd = num(_first(row, "longLiquidation_usd", "long_liquidation_usd"))
        short_usd = num(_first(row, "shortLiquidation_usd", "short_liquidation_usd"))
        if not exchange or long_usd is None or short_usd is None:
            continue
        parsed.append(LiquidationRow(exchange, long_usd, short_usd))
    total = next((r for r in parsed if r.exchange.lower() == "all"), None)
    return LiquidationList(total=total,
                           exchanges=tuple(r for r in parsed if r.exchange.lower() != "all"))


# --- taker volume ---------------------------------------------------------------------------

def taker_exchange_list(data: Any, endpoint: str) -> TakerList | None:
    obj = single_object(data, endpoint)
    if obj is None:
        return None
    buy, sell = num(obj.get("buy_vol_usd")), num(obj.get("sell_vol_usd"))
    if buy is None or sell is None:
        return None
    exchanges = []
    for row in obj.get("exchange_list") or ():
        if not isinstance(row, dict):
            continue
        exchange = text(row.get("exchange"))
        b, s = num(row.get("buy_vol_usd")), num(row.get("sell_vol_usd"))
        if exchange and b is not None and s is not None:
            exchanges.append(TakerRow(exchange, b, s, num(row.get("buy_ratio"))))
    return TakerList(buy_usd=buy, sell_usd=sell, buy_ratio=num(obj.get("buy_ratio")),
                     exchanges=tuple(exchanges))


# --- markets and histories ------------------------------------------------------------------

def pairs_markets(data: Any, endpoint: str) -> list[PairMarket]:
    result = []
    for row in rows(data, endpoint):
        instrument, exchange = text(row.get("instrument_id")), text(row.get("exchange_name"))
        price = num(row.get("current_price"))
        if not instrument or not exchange or price is None:
            continue
        result.append(PairMarket(
            instrument_id=instrument, exchange=exchange, price=price,
            price_change_pct_24h=num(row.get("price_change_percent_24h")),
            open_interest_usd=num(row.get("open_interest_usd")),
            funding_rate_pct=num(row.get("funding_rate")),
            long_liquidation_usd_24h=num(row.get("long_liquidation_usd_24h")),
            short_liquidation_usd_24h=num(row.get("short_liquidation_usd_24h")),
            symbol=text(row.get("symbol")),
        ))
    return result


MARKET_WINDOWS = ("5m", "15m", "30m", "1h", "4h", "12h", "24h")
LIQUIDATION_WINDOWS = ("1h", "4h", "12h", "24h")


def _windowed(row: dict, prefix: str, windows: Iterable[str]) -> dict[str, float]:
    values = {}
    for window in windows:
        value = num(row.get(f"{prefix}{window}"))
        if value is not None:
            values[window] = value
    return values


def coins_markets(data: Any, endpoint: str) -> list[CoinMarket]:
    """Every coin of the page; a row without a symbol or a price is skipped, never zeroed."""
    result = []
    for row in rows(data, endpoint):
        symbol, price = text(row.get("symbol")), num(row.get("current_price"))
        if not symbol or price is None:
            continue
        result.append(CoinMarket(
            symbol=symbol.upper(), price=price,
            price_change_pct=_windowed(row, "price_change_percent_", MARKET_WINDOWS),
            open_interest_usd=num(row.get("open_interest_usd")),
            oi_change_pct=_windowed(row, "open_interest_change_percent_", OI_WINDOWS),
            avg_funding_by_oi=num(row.get("avg_funding_rate_by_oi")),
            long_liquidation_usd=_windowed(row, "long_liquidation_usd_", LIQUIDATION_WINDOWS),
            short_liquidation_usd=_windowed(row, "short_liquidation_usd_", LIQUIDATION_WINDOWS),
        ))
    return result


def _sorted(points: Iterable) -> list:
    return sorted(points, key=lambda p: p.time)


def candles(data: Any, endpoint: str) -> list[Candle]:
    result = []
    for row in rows(data, endpoint):
        when = timestamp(row.get("time"))
        o, h, l, c = (num(row.get(k)) for k in ("open", "high", "low", "close"))
        if when is None or c is None:
            continue
        result.append(Candle(when, o if o is not None else c, h if h is not None else c,
                             l if l is not None else c, c, num(row.get("volume_usd"))))
    return _sorted(result)


def ratio_points(data: Any, endpoint: str, prefix: str) -> list[RatioPoint]:
    """Rows of ``{prefix}_long_percent`` etc.: prefix is global_account, top_account, top_position."""
    result = []
    for row in rows(data, endpoint):
        when = timestamp(row.get("time"))
        long_pct = num(row.get(f"{prefix}_long_percent"))
        short_pct = num(row.get(f"{prefix}_short_percent"))
        if when is None or long_pct is None:
            continue
        if short_pct is None:
            short_pct = 100.0 - long_pct
        result.append(RatioPoint(when, long_pct, short_pct,
                                 num(row.get(f"{prefix}_long_short_ratio"))))
    return _sorted(result)


def _two_value_points(data: Any, endpoint: str, make, first: tuple[str, ...],
                      second: tuple[str, ...]) -> list:
    """Rows of ``time`` plus two numbers, each read from the first of several names."""
    result = []
    for row in rows(data, endpoint):
        when = timestamp(row.get("time"))
        a, b = num(_first(row, *first)), num(_first(row, *second))
        if when is not None and a is not None and b is not None:
            result.append(make(when, a, b))
    return _sorted(result)


def liquidation_points(data: Any, endpoint: str) -> list[LiquidationPoint]:
    return _two_value_points(
        data, endpoint, LiquidationPoint,
        ("aggregated_long_liquidation_usd", "long_liquidation_usd"),
        ("aggregated_short_liquidation_usd", "short_liquidation_usd"))


def taker_points(data: Any, endpoint: str) -> list[TakerPoint]:
    return _two_value_points(
        data, endpoint, TakerPoint,
        ("aggregated_buy_volume_usd", "taker_buy_volume_usd"),
        ("aggregated_sell_volume_usd", "taker_sell_volume_usd"))


# --- balances, indices, flows ---------------------------------------------------------------

def exchange_balances(data: Any, endpoint: str) -> list[ExchangeBalance]:
    result = []
    for row in rows(data, endpoint):
        exchange = text(_first(row, "exchange_name", "exchange"))
        balance = num(row.get("total_balance"))
        if not exchange or balance is None:
            continue
        result.append(ExchangeBalance(
            exchange=exchange, balance=balance,
            change_1d=num(row.get("balance_change_1d")),
            change_pct_1d=num(row.get("balance_change_percent_1d")),
            change_7d=num(row.get("balance_change_7d")),
            change_pct_7d=num(row.get("balance_change_percent_7d")),
        ))
    return result


def dominance_points(data: Any, endpoint: str) -> list[DominancePoint]:
    """Bitcoin dominance rows are keyed ``timestamp``, not ``time`` (§8.9)."""
    result = []
    for row in rows(data, endpoint):
        when = timestamp(_first(row, "timestamp", "time"))
        value = num(row.get("bitcoin_dominance"))
        if when is None or value is None:
            continue
        result.append(DominancePoint(when, value))
    return _sorted(result)


def netflow(data: Any, endpoint: str) -> Netflow | None:
    obj = single_object(data, endpoint)
    if obj is None:
        return None
    flows = {}
    for window in NETFLOW_WINDOWS:
        value = num(obj.get(f"net_flow_usd_{window}"))
        if value is None:
            buy = num(obj.get(f"taker_buy_volume_usd_{window}"))
            sell = num(obj.get(f"taker_sell_volume_usd_{window}"))
            value = buy - sell if buy is not None and sell is not None else None
        if value is not None:
            flows[window] = value
    return Netflow(flows) if flows else None


def cvd_points(data: Any, endpoint: str) -> list[CvdPoint]:
    result = []
    for row in rows(data, endpoint):
        when = timestamp(row.get("time"))
        buy = num(_first(row, "agg_taker_buy_vol", "taker_buy_vol"))
        sell = num(_first(row, "agg_taker_sell_vol", "taker_sell_vol"))
        cumulative = num(row.get("cum_vol_delta"))
        if when is None or cumulative is None:
            continue
        result.append(CvdPoint(when, buy or 0.0, sell or 0.0, cumulative))
    return _sorted(result)


def whale_alerts(data: Any, endpoint: str) -> list[WhaleAlert]:
    result = []
    for row in rows(data, endpoint):
        symbol = text(row.get("symbol"))
        size = num(row.get("position_size"))
        value = num(row.get("position_value_usd"))
        when = timestamp(row.get("create_time"))
        action = num(row.get("position_action"))
        if not symbol or size is None or value is None or when is None or action not in (1, 2):
            continue
        result.append(WhaleAlert(
            address=text(row.get("user")) or "unknown", symbol=symbol.upper(),
            position_size=size, entry_price=num(row.get("entry_price")),
            liquidation_price=num(row.get("liq_price")), value_usd=abs(value),
            action="open" if action == 1 else "close", time=when,
        ))
    return sorted(result, key=lambda w: w.time, reverse=True)


def large_orders(data: Any, endpoint: str) -> list[LargeOrder]:
    """``order_side`` 1 = sell (ask), 2 = buy (bid); ``order_state`` 1 = open (§8.7)."""
    result = []
    for row in rows(data, endpoint):
        price = num(row.get("price"))
        usd = num(_first(row, "current_usd_value", "start_usd_value"))
        side = num(row.get("order_side"))
        if price is None or usd is None or side not in (1, 2):
            continue
        state = num(row.get("order_state"))
        result.append(LargeOrder(
            exchange=text(row.get("exchange_name")) or "?", pair=text(row.get("symbol")) or "?",
            price=price, side="ask" if side == 1 else "bid", usd=usd,
            open=state in (None, 1),
        ))
    return result


def liquidation_orders(data: Any, endpoint: str) -> list[LiquidationOrder]:
    """``side`` 2 (a forced sell) is read as a long liquidated — an inference (§8.3)."""
    result = []
    for row in rows(data, endpoint):
        price, usd = num(row.get("price")), num(row.get("usd_value"))
        side, when = num(row.get("side")), timestamp(row.get("time"))
        if price is None or usd is None or side not in (1, 2) or when is None:
            continue
        result.append(LiquidationOrder(
            exchange=text(row.get("exchange_name")) or "?", symbol=text(row.get("symbol")) or "?",
            price=price, usd=usd, side="long" if side == 2 else "short", time=when,
        ))
    return result


def liquidation_map(data: Any, endpoint: str) -> list[MapLevel]:
    """``{"data": {"<price>": [[price, usd, leverage|null, null], ...]}}``, summed per price."""
    obj = single_object(data, endpoint)
    if obj is None:
        return []
    levels = obj.get("data", obj)
    if not isinstance(levels, dict):
        raise MalformedResponse(f"{endpoint} sent no price map", endpoint=endpoint)
    totals: dict[float, float] = {}
    for key, entries in levels.items():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, list) or len(entry) < 2:
                continue
            price = num(entry[0]) if num(entry[0]) is not None else num(key)
            usd = num(entry[1])
            if price is None or usd is None:
                continue
            totals[price] = totals.get(price, 0.0) + usd
    return [MapLevel(price, usd) for price, usd in sorted(totals.items())]
