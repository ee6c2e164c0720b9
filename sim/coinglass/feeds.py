"""Endpoints with no recording: dominance, netflow, Hyperliquid whales, large limit orders,
liquidation orders and maps, fear & greed. Shapes follow the official examples
(coinglass-v4.md §8.3, §8.7–§8.9); the calm background stays below perpwatch's defaults
(whales < $3M, walls < $5M within 1.5 %, clusters < $100M within 2.5 % of price).
"""

from __future__ import annotations

import hashlib
import math

from core.coinglass import paths as p
from sim.coinglass import universe as u
from sim.coinglass.coins_markets import market_cap
from sim.coinglass.formats import ms, pct, text, usd, whole
from sim.coinglass.market import DAY, Market, Whale
from sim.coinglass.query import Endpoint, NoData, Query
from sim.coinglass.series import term, wave
from sim.coinglass.snapshots import share_of, shares

_DOMINANCE_START = 1367366400.0      # 2013-05-01: the docs' first dominance row
_FEAR_GREED_START = 1517443200.0     # 2018-02-01
_GENESIS = 1231006505.0
_HALVING = 4 * 365.25 * DAY
_HYPERLIQUID_COINS = ("BTC", "ETH", "SOL", "HYPE", "XRP", "DOGE", "SUI")
_WHALE_SLOT = 150.0
_LIQUIDATION_SLOT = 300.0
_MAX_LIQUIDATION_ORDERS = 200
NETFLOW_WINDOWS = (
    ("5m", 300), ("15m", 900), ("30m", 1800), ("1h", 3600), ("4h", 4 * 3600), ("8h", 8 * 3600),
    ("12h", 12 * 3600), ("24h", 86400), ("3d", 3 * 86400), ("5d", 5 * 86400),
    ("7d", 7 * 86400), ("10d", 10 * 86400), ("15d", 15 * 86400), ("30d", 30 * 86400),
    ("40d", 40 * 86400), ("50d", 50 * 86400), ("60d", 60 * 86400), ("90d", 90 * 86400),
    ("120d", 120 * 86400), ("150d", 150 * 86400), ("180d", 180 * 86400), ("1y", 365 * 86400),
)
_NETFLOW_LIST_WINDOWS = ("5m", "15m", "30m", "1h", "4h", "8h", "12h", "24h", "3d", "7d", "15d",
                         "30d", "40d", "50d", "60d", "90d", "120d")


def _hex(*parts: object) -> str:
    return hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=20).hexdigest()


# -- indexes ---------------------------------------------------------------------------------

def bitcoin_dominance(q: Query) -> list[dict]:
    """Full daily history, ascending, keyed ``timestamp``; ignores limit (runtime-verified)."""
    m, now = q.market, q.now
    rows = []
    day = _DOMINANCE_START
    while day <= now:
        end = day + DAY
        t, before = (end, True) if end <= now else (now, False)
        price = m.price("BTC", t, before) if m.has("BTC") else 97_000.0
        supply = 21e6 * (1 - 0.5 ** ((t - _GENESIS) / _HALVING))
        rows.append({"timestamp": ms(day), "price": whole(round(price, 2)),
                     "bitcoin_dominance": round(m.dominance(t, before), 4),
                     "market_cap": round(price * supply, 2)})
        day = end
    return rows


def fear_greed_history(q: Query) -> dict:
    """An object of three parallel lists, ms times at 00:20 UTC (recorded shape)."""
    m, now = q.market, q.now
    values, prices, times = [], [], []
    t = _FEAR_GREED_START + 1200
    while t <= now:
        index = 52 + wave([term(18, 75 * DAY, 0.2), term(8, 11 * DAY, 0.6)], t)
        values.append(float(round(min(95, max(5, index)))))
        prices.append(m.price("BTC", t) if m.has("BTC") else 97_000.0)
        times.append(ms(t))
        t += DAY
    return {"data_list": values, "price_list": prices, "time_list": times}


# -- netflow -------------------------------------------------------------------------------------

def coin_netflow(q: Query) -> dict:
    """A flat object per coin, volumes and flows as integer strings (official example)."""
    m, now, coin = q.market, q.now, q.coin()
    part = share_of(coin, "taker", q.exchanges())
    cap = market_cap(m, coin, now)
    out: dict = {"symbol": coin}
    for name, seconds in NETFLOW_WINDOWS:
        buy, sell = (x * part for x in m.taker(coin, now - seconds))
        prev_buy, prev_sell = (x * part for x in m.taker(coin, now - 2 * seconds, now - seconds))
        net, prev = buy - sell, prev_buy - prev_sell
        out[f"taker_buy_volume_usd_{name}"] = str(round(buy))
        out[f"taker_sell_volume_usd_{name}"] = str(round(sell))
        out[f"net_flow_usd_{name}"] = str(round(net))
        out[f"net_flow_usd_change_percent_{name}"] = pct((net - prev) / abs(prev) * 100
                                                         if prev else 0.0)
        out[f"net_flow_usd_{name}_market_cap_ratio"] = round(net / cap * 100, 6)
    return out


def netflow_list(q: Query) -> list[dict]:
    """Every coin, numbers (official example), paged by ``per_page``/``page``."""
    m, now = q.market, q.now
    per_page = int(q.number("per_page", 100) or 100)
    page = int(q.number("page", 1) or 1)
    windows = dict(NETFLOW_WINDOWS)
    rows = []
    for coin in m.coins()[(page - 1) * per_page: page * per_page]:
        row: dict = {"symbol": coin}
        for name in _NETFLOW_LIST_WINDOWS:
            buy, sell = m.taker(coin, now - windows[name])
            row[f"taker_buy_volume_usd_{name}"] = usd(buy)
            row[f"taker_sell_volume_usd_{name}"] = usd(sell)
            row[f"net_flow_usd_{name}"] = usd(buy - sell)
        row["market_cap"] = usd(market_cap(m, coin, now))
        rows.append(row)
    return rows


# -- Hyperliquid whales -------------------------------------------------------------------------

def _whale_row(w: Whale) -> dict:
    size = w.value_usd / w.price
    leverage = 10.0
    liq = w.price * (1 - 1 / leverage) if w.side == "long" else w.price * (1 + 1 / leverage)
    return {"user": w.user, "symbol": w.coin,
            "position_size": round(size if w.side == "long" else -size, 5),
            "entry_price": w.price, "liq_price": round(liq, 4),
            "position_value_usd": usd(w.value_usd),
            "position_action": 1 if w.action == "open" else 2, "create_time": ms(w.time)}


def _background_whales(m: Market, now: float, count: int) -> list[Whale]:
    coins = [c for c in _HYPERLIQUID_COINS if m.has(c)] or m.coins()[:1]
    newest = int(now // _WHALE_SLOT)
    whales = []
    for slot in range(newest, newest - count - 1, -1):
        t = (slot + u.unit(slot, "wt")) * _WHALE_SLOT
        if t > now:
            continue
        coin = coins[int(u.unit(slot, "wc") * len(coins))]
        side = "long" if u.unit(slot, "ws") < 0.55 else "short"
        action = "open" if u.unit(slot, "wa") < 0.5 else "close"
        whales.append(Whale(t, coin, "0x" + _hex(slot, "user"), 1.0e6 + 1.9e6 * u.unit(slot, "wv"),
                            side, action, m.price(coin, t)))
    return whales


def whale_alert(q: Query) -> list[dict]:
    """About 200 latest alerts (> $1M) across coins, newest first (official example)."""
    m, now = q.market, q.now
    scripted = [w for w in m.whales if w.time <= now]
    merged = sorted(scripted + _background_whales(m, now, 200), key=lambda w: -w.time)
    return [_whale_row(w) for w in merged[:200]]


# -- large limit orders (walls) -----------------------------------------------------------------

def _wall_floor(coin: str) -> float:
    """CoinGlass only lists orders above $1M (BTC), $500K (ETH), $50K (others)."""
    return {"BTC": 1e6, "ETH": 5e5}.get(coin, 5e4)


def large_limit_orders(q: Query) -> list[dict]:
    m, now = q.market, q.now
    coin, venue = q.pair_coin(), q.exchange()
    if not u.listed(coin, venue):
        raise NoData(venue)
    c = m.state(coin)
    price = m.price(coin, now)
    scale = math.sqrt(c.profile.size)
    anchor = now // 1800 * 1800
    rows = []
    for j in range(6):
        side = "bid" if j % 2 == 0 else "ask"
        distance = 0.3 + 3.7 * u.unit(coin, venue, j, "wd")
        size = (1.0 + 3.5 * u.unit(coin, venue, j, "ws")) * 1e6 if distance < 1.5 else (
            2.0 + 10.0 * u.unit(coin, venue, j, "ws")) * 1e6
        usd_value = max(size * scale, _wall_floor(coin) * (1.05 + 0.5 * u.unit(coin, j, "wf")))
        sign = -1.0 if side == "bid" else 1.0
        level = round(price * (1 + sign * distance / 100), c.decimals)
        started = anchor - 600 * (1 + j) * u.unit(coin, venue, j, "wt")
        rows.append(_wall_row(coin, venue, int(u.unit(coin, venue, j, "id") * 1e10), side, level,
                              usd_value, started, now, 0.6 + 0.4 * u.unit(coin, venue, j, "wq")))
    for wall in c.walls:
        if wall.exchange.lower() == venue.lower() and wall.time <= now:
            rows.append(_wall_row(coin, venue, wall.id, wall.side, wall.price, wall.usd,
                                  wall.time, now, 1.0))
    return rows


def _wall_row(coin: str, venue: str, order_id: int, side: str, level: float, usd_value: float,
              started: float, now: float, remaining: float) -> dict:
    quantity = usd_value / level
    return {"id": order_id, "exchange_name": venue, "symbol": u.pair_id(coin, venue),
            "base_asset": coin, "quote_asset": "USDT", "price": whole(level),
            "start_time": ms(started), "start_quantity": round(quantity, 5),
            "start_usd_value": usd(usd_value),
            "current_quantity": round(quantity * remaining, 5),
            "current_usd_value": usd(usd_value * remaining), "current_time": ms(now),
            "executed_volume": 0, "executed_usd_value": 0, "trade_count": 0,
            "order_side": 2 if side == "bid" else 1, "order_state": 1}


# -- liquidation orders ----------------------------------------------------------------------------

def liquidation_orders(q: Query) -> list[dict]:
    """Forced orders on one venue, newest first, at most 200, last 7 days: every scripted order
    exactly as booked (the WebSocket streams the same orders) plus the calm background ones.
    ``side`` is the order's direction: 2 (sell) closes a long, 1 (buy) a short — an inference
    (coinglass-v4.md §8.3), and the opposite of the stream's encoding (1 = long liquidated)."""
    m, now = q.market, q.now
    coin, venue = q.coin(), q.exchange()
    minimum = q.number("min_liquidation_amount") or 0.0
    start_ms, end_ms = q.number("start_time"), q.number("end_time")
    until = min(now, end_ms / 1000) if end_ms is not None else now
    since = max(now - 7 * DAY, start_ms / 1000 if start_ms is not None else now - 7 * DAY)
    orders: list[tuple[float, float, int, float]] = [      # (time, usd, side, price)
        (o.time, o.usd, 2 if o.side == "long" else 1, o.price)
        for o in m.orders(coin, since, None if until >= now else until,
                          frozenset((venue,)))]
    orders.extend((t, amount, side, order_price(m, coin, t, side))
                  for t, amount, side in background_liquidations(m, coin, venue, since, until,
                                                                 minimum))
    orders = sorted((o for o in orders if o[1] >= minimum), key=lambda o: -o[0])
    return [{"exchange_name": venue.upper(), "symbol": u.pair_id(coin, "Binance"),
             "base_asset": coin, "price": price, "usd_value": usd(amount), "side": side,
             "time": ms(t)}
            for t, amount, side, price in orders[:_MAX_LIQUIDATION_ORDERS]]


def order_price(m: Market, coin: str, t: float, side: int) -> float:
    return round(m.price(coin, t) * (1 - 0.001 if side == 2 else 1 + 0.001),
                 m.state(coin).decimals)


def background_liquidations(m: Market, coin: str, venue: str, since: float, until: float,
                            minimum: float = 0.0) -> list[tuple[float, float, int]]:
    """The calm market's small forced orders on one venue over [since, until], newest first:
    (time, USD, REST side). At most one per venue and 5-minute slot, $5K–$300K scaled by the
    coin's size. Illustrative: the liquidation totals come from the calm rate, not from these."""
    scale = math.sqrt(m.state(coin).profile.size)
    if minimum > 300e3 * scale or venue not in dict(shares(coin, "liq")):
        return []
    found = []
    slot = int(until // _LIQUIDATION_SLOT)
    while len(found) < _MAX_LIQUIDATION_ORDERS and (slot + 1) * _LIQUIDATION_SLOT >= since:
        t = (slot + u.unit(coin, venue, slot, "lt")) * _LIQUIDATION_SLOT
        amount = 5e3 * math.exp(u.unit(coin, venue, slot, "la") * math.log(60)) * scale
        if since <= t <= until and amount >= minimum:
            found.append((t, amount, 2 if u.unit(coin, venue, slot, "ls") < 0.55 else 1))
        slot -= 1
    return found


# -- liquidation maps ------------------------------------------------------------------------------

def _map_levels(m: Market, coin: str, now: float) -> list[tuple[float, float]]:
    """(price level, USD) of the calm background plus scripted clusters."""
    c = m.state(coin)
    price = m.price(coin, now)
    step = 10.0 ** (math.floor(math.log10(c.profile.price)) - 3)
    scale = c.profile.size ** 0.7
    levels = []
    for j in range(1, 17):
        for sign in (-1, 1):
            distance = sign * j * 0.6
            level = round(round(price * (1 + distance / 100) / step) * step, 10)
            r = u.unit(coin, j, sign, "cl")
            size = (5 + 45 * r) * 1e6 if abs(distance) < 2.5 else (20 + 200 * r) * 1e6
            levels.append((level, size * scale))
    levels.extend((cl.price, cl.usd) for cl in c.clusters if cl.time <= now)
    return levels


def _map(levels: list[tuple[float, float]], decimals: int, leverage: bool) -> dict:
    out: dict[str, list] = {}
    for level, amount in levels:
        key = text(level, decimals)
        if leverage:
            out.setdefault(key, []).extend([[whole(level), usd(amount * 0.6), 25, None],
                                            [whole(level), usd(amount * 0.4), 100, None]])
        else:
            out.setdefault(key, []).append([whole(level), usd(amount), None, None])
    return {"data": out}


_MAP_RANGES = ("1d", "7d", "30d")


def liquidation_aggregated_map(q: Query) -> dict:
    """``{"data": {"<price>": [[price, usd, null, null], ...]}}`` (docs)."""
    q.choice("range", _MAP_RANGES)
    coin = q.coin()
    return _map(_map_levels(q.market, coin, q.now), q.market.state(coin).decimals, False)


def liquidation_map(q: Query) -> dict:
    q.choice("range", _MAP_RANGES)
    coin, venue = q.pair_coin(), q.exchange()
    part = dict(shares(coin, "liq")).get(venue)
    if part is None:
        raise NoData(venue)
    levels = [(lv, amount * part) for lv, amount in _map_levels(q.market, coin, q.now)]
    return _map(levels, q.market.state(coin).decimals, True)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(p.BITCOIN_DOMINANCE, bitcoin_dominance),
    Endpoint(p.FEAR_GREED_HISTORY, fear_greed_history, empty=dict),
    Endpoint(p.COIN_NETFLOW, coin_netflow, ("symbol", "exchange_list"), empty=dict,
             extra={"success": True}),
    Endpoint(p.NETFLOW_LIST, netflow_list),
    Endpoint(p.HYPERLIQUID_WHALE_ALERT, whale_alert),
    Endpoint(p.LARGE_LIMIT_ORDER, large_limit_orders, ("exchange", "symbol")),
    Endpoint(p.LIQUIDATION_ORDER, liquidation_orders,
             ("exchange", "symbol", "min_liquidation_amount")),
    Endpoint(p.LIQUIDATION_AGGREGATED_MAP, liquidation_aggregated_map, ("symbol", "range"),
             empty=lambda: {"data": {}}),
    Endpoint(p.LIQUIDATION_MAP, liquidation_map, ("exchange", "symbol", "range"),
             empty=lambda: {"data": {}}),
)
