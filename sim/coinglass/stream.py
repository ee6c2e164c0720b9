"""The WebSocket ``GET /ws-api?cg-api-key=KEY`` on the simulator's port (coinglass-v4.md §13.4).

What a client sees:

- No ``cg-api-key``: the text frame ``{"event":"error","msg":"API key missing."}``, then a
  close frame with code **1008** (policy violation). Unknown key: ``{"event":"error",
  "msg":"Invalid API key provided"}`` and close **1008**. (CoinGlass's behaviour is not
  recorded; the messages are the REST ones, the code the standard one for a refused client.)
- Any known key may connect. Subscribing to liquidation orders needs Standard or above
  (docs: "Required Account Level: Standard Edition and Above"); a Hobbyist, Startup or expired
  key gets ``{"event":"error","msg":"liquidationOrders need upgrade plan"}`` and stays
  connected but unsubscribed — the answer a Hobbyist probe recorded (coinglass-v4.md §5.4).
- The text frame ``ping`` is answered ``pong``. The simulator never drops an idle socket by
  itself; :meth:`Stream.drop` does, to rehearse reconnects.
- ``{"method":"subscribe","channels":[...]}`` / ``"unsubscribe"``: ``liquidationOrders`` and
  the SDK spelling ``liquidation_orders`` name the same channel. There is no acknowledgement
  (none is documented). A channel we do not know gets ``{"event":"error","msg":"unknown
  channel: NAME"}``; the documented trade/ticker channels (``futures_trades@…``) get
  ``{"event":"error","msg":"channel not simulated: NAME"}``; the socket stays open either way.
  A frame that is not ``ping`` nor such a JSON object gets ``{"event":"error","msg":"invalid
  message"}``.
- Messages: ``{"channel":"liquidationOrders","data":[{"baseAsset":"BTC","exName":"Binance",
  "price":56738.0,"side":2,"symbol":"BTCUSDT","time":1725416318379,"volUsd":3065.07}]}`` with
  ``side`` 1 = a long position liquidated, 2 = a short one (the docs' comment; the REST order
  list encodes the order's direction instead, so there 2 = long). ``symbol`` is the venue's own
  instrument id. With ``spelling="sdk"`` the channel is ``liquidation_orders`` and the fields
  ``base_asset``, ``exchange``, ``price``, ``side``, ``symbol``, ``time``, ``volume_usd``.
- Orders go out when their market time comes (checked every :data:`TICK_S` and at once when
  booked), several to a message. With ``background=True`` the scripted coins' calm small
  orders (the ones the REST order list shows) stream too.

No rate limit applies to the socket, and its frames are not in ``CoinGlassSim.requests``.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from core.plans import Plan
from sim.coinglass import universe as u
from sim.coinglass.feeds import background_liquidations, order_price
from sim.coinglass.market import LiquidationOrder

if TYPE_CHECKING:
    from sim.coinglass.server import CoinGlassSim

LIQUIDATION_ORDERS = "liquidationOrders"
CHANNEL_ALIASES = {"liquidationOrders": LIQUIDATION_ORDERS,
                   "liquidation_orders": LIQUIDATION_ORDERS}
NOT_SIMULATED_PREFIXES = ("futures_trades@", "spot_trades@", "futures_ticker@")
CLOSE_REFUSED = 1008
CLOSE_GOING_AWAY = 1001
TICK_S = 0.1
MAX_BATCH = 100

KEY_MISSING = {"event": "error", "msg": "API key missing."}
KEY_INVALID = {"event": "error", "msg": "Invalid API key provided"}
NEED_UPGRADE = {"event": "error", "msg": "liquidationOrders need upgrade plan"}
INVALID_MESSAGE = {"event": "error", "msg": "invalid message"}


@dataclass(eq=False)
class Connection:
    ws: web.WebSocketResponse
    request: web.Request
    key: str
    opened: float
    channels: set[str] = field(default_factory=set)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


class Stream:
    """Every open socket of one simulator, and the liquidation orders they receive."""

    def __init__(self, sim: CoinGlassSim, *, spelling: str = "docs", background: bool = True):
        if spelling not in ("docs", "sdk"):
            raise ValueError("ws_spelling must be 'docs' or 'sdk'")
        self.sim = sim
        self.spelling = spelling
        self.background = background
        self.pings: list[tuple[float, str | None]] = []
        self.received: list[tuple[float, str | None, str]] = []     # every text frame
        self.sent_orders = 0
        self._connections: set[Connection] = set()
        self._tasks: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._background_since: float | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self.sim.market.add_listener(self._wake.set)
        self._background_since = self.sim.market.now()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cg-sim-ws")

    async def stop(self) -> None:
        self.sim.market.remove_listener(self._wake.set)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self.drop(None, CLOSE_GOING_AWAY)
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, work: Any) -> None:
        """Run ``work`` soon, holding the task until it is done (control calls are sync)."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- what tests read -----------------------------------------------------------------------

    def connections(self, key: str | None = None) -> int:
        return sum(1 for c in self._connections if (key is None or c.key == key)
                   and not c.ws.closed)

    def subscriptions(self, key: str) -> set[str]:
        return {ch for c in self._connections if c.key == key and not c.ws.closed
                for ch in c.channels}

    def stats(self) -> dict:
        by_key: dict[str, dict] = {}
        for c in self._connections:
            if c.ws.closed:
                continue
            entry = by_key.setdefault(c.key, {"connections": 0, "subscriptions": set()})
            entry["connections"] += 1
            entry["subscriptions"].update(c.channels)
        return {"connections": self.connections(), "pings": len(self.pings),
                "orders_sent": self.sent_orders,
                "by_key": {k: {"connections": v["connections"],
                               "subscriptions": sorted(v["subscriptions"])}
                           for k, v in by_key.items()}}

    # -- control ------------------------------------------------------------------------------

    def push_raw(self, text: str, key: str | None = None) -> int:
        targets = [c for c in self._connections
                   if (key is None or c.key == key) and not c.ws.closed]
        for c in targets:
            self._spawn(self._send(c, text))
        return len(targets)

    def drop(self, key: str | None = None, code: int | None = None) -> int:
        """Cut (``code=None``) or close with ``code`` every open socket (of ``key``)."""
        targets = [c for c in list(self._connections)
                   if (key is None or c.key == key) and not c.ws.closed]
        for c in targets:
            self._connections.discard(c)
            if code is None:
                transport = c.request.transport
                if transport is not None:
                    transport.abort()           # no close frame: the client sees 1006
            else:
                self._spawn(c.ws.close(code=code, message=b"closed by the simulator"))
        return len(targets)

    # -- the socket -----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        key = request.query.get("cg-api-key") or None
        if key is None or self.sim.key_state(key) is None:
            await ws.send_str(_dumps(KEY_MISSING if key is None else KEY_INVALID))
            await ws.close(code=CLOSE_REFUSED, message=b"refused")
            return ws
        connection = Connection(ws, request, key, time.time())
        self._connections.add(connection)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    await self._on_text(connection, message.data)
                elif message.type == WSMsgType.BINARY:
                    await self._send(connection, _dumps(INVALID_MESSAGE))
        finally:
            self._connections.discard(connection)
        return ws

    async def _on_text(self, c: Connection, text: str) -> None:
        self.received.append((time.time(), c.key, text))
        if text.strip() == "ping":
            self.pings.append((time.time(), c.key))
            await self._send(c, "pong")
            return
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if (not isinstance(body, dict) or body.get("method") not in ("subscribe", "unsubscribe")
                or not isinstance(body.get("channels"), list)
                or not all(isinstance(ch, str) for ch in body["channels"])):
            await self._send(c, _dumps(INVALID_MESSAGE))
            return
        for name in body["channels"]:
            channel = CHANNEL_ALIASES.get(name)
            if channel is None:
                reason = ("channel not simulated" if name.startswith(NOT_SIMULATED_PREFIXES)
                          else "unknown channel")
                await self._send(c, _dumps({"event": "error", "msg": f"{reason}: {name}"}))
            elif body["method"] == "unsubscribe":
                c.channels.discard(channel)
            elif not self._may_subscribe(c.key):
                await self._send(c, _dumps(NEED_UPGRADE))
            else:
                c.channels.add(channel)

    def _may_subscribe(self, key: str) -> bool:
        state = self.sim.key_state(key)
        return state is not None and not state.expired and state.plan >= Plan.STANDARD

    @staticmethod
    async def _send(c: Connection, text: str) -> None:
        if c.ws.closed:
            return
        try:
            await c.ws.send_str(text)
        except (ConnectionError, RuntimeError):
            pass                                 # the client went away meanwhile

    # -- broadcasting -------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=TICK_S)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()

    async def flush(self) -> int:
        """Send every order whose time has come to the subscribed sockets; how many."""
        market = self.sim.market
        now = market.now()
        rows = [self._row(o) for o in market.due_orders(now)]
        subscribers = [c for c in self._connections
                       if LIQUIDATION_ORDERS in c.channels and not c.ws.closed]
        since, self._background_since = self._background_since, now
        if self.background and subscribers and since is not None and now > since:
            rows.extend(self._background(since, now))
        if not rows or not subscribers:
            return 0
        rows.sort(key=lambda r: r["time"])
        channel = LIQUIDATION_ORDERS if self.spelling == "docs" else "liquidation_orders"
        for start in range(0, len(rows), MAX_BATCH):
            text = _dumps({"channel": channel, "data": rows[start:start + MAX_BATCH]})
            await asyncio.gather(*(self._send(c, text) for c in subscribers))
        self.sent_orders += len(rows)
        return len(rows)

    def _background(self, since: float, until: float) -> list[dict]:
        market = self.sim.market
        rows = []
        for profile in u.DEFAULT_COINS:
            coin = profile.symbol
            if not market.has(coin):
                continue
            for venue, _ in u.shares(coin, "liq"):
                for t, amount, rest_side in background_liquidations(market, coin, venue,
                                                                    since, until):
                    if t <= since:
                        continue
                    side = "long" if rest_side == 2 else "short"
                    rows.append(self._row(LiquidationOrder(
                        t, coin, venue, side, round(amount, 2),
                        order_price(market, coin, t, rest_side))))
        return rows

    def _row(self, o: LiquidationOrder) -> dict:
        side = 1 if o.side == "long" else 2
        time_ms = int(round(o.time * 1000))
        symbol = u.pair_id(o.coin, o.exchange)
        if self.spelling == "sdk":
            return {"base_asset": o.coin, "exchange": o.exchange, "price": o.price, "side": side,
                    "symbol": symbol, "time": time_ms, "volume_usd": o.usd}
        return {"baseAsset": o.coin, "exName": o.exchange, "price": o.price, "side": side,
                "symbol": symbol, "time": time_ms, "volUsd": o.usd}
