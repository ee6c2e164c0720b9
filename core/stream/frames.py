"""CoinGlass WebSocket frames (coinglass-v4.md §13.4) read into plain data.

What the socket sends, and what :func:`parse_frame` makes of it:

- ``pong`` (the answer to our ``ping``) → :data:`PONG`.
- ``{"channel":"liquidationOrders","data":[{...}, ...]}`` → :class:`Orders`. The docs spell the
  fields ``baseAsset``/``exName``/``volUsd``, CoinGlass's SDKs (and their channel name
  ``liquidation_orders``) ``base_asset``/``exchange``/``volume_usd``: both are read.
  ``side`` 1 is a **long** position liquidated and 2 a **short** one — the opposite of the REST
  order list, where ``side`` is the forced order's direction (2 = a sell = a long liquidated).
  ``time`` is in milliseconds. Numbers may come as JSON numbers or numeric strings.
- ``{"event":"error","msg":...}`` → :class:`ErrorFrame`; :attr:`ErrorFrame.needs_upgrade` when
  CoinGlass refuses the channel for the key's plan ("liquidationOrders need upgrade plan").
- Anything else → :class:`Ignored` with why. A malformed frame, or a malformed order inside a
  good frame, is skipped and counted; it never raises.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

# The docs' channel name first, the SDKs' second (tried if CoinGlass rejects the first).
CHANNEL_NAMES = ("liquidationOrders", "liquidation_orders")
LIQUIDATION_CHANNELS = frozenset(CHANNEL_NAMES)


def subscribe(channel: str) -> str:
    return json.dumps({"method": "subscribe", "channels": [channel]}, separators=(",", ":"))


PING = "ping"

LONG = "long"
SHORT = "short"
_SIDES = {1: LONG, 2: SHORT, "1": LONG, "2": SHORT}


@dataclass(frozen=True, slots=True)
class Order:
    """One liquidation: ``side`` is the position that was liquidated (``long``/``short``)."""

    coin: str
    side: str
    usd: float
    time: float             # Unix seconds
    exchange: str = ""


@dataclass(frozen=True, slots=True)
class Orders:
    orders: tuple[Order, ...]
    skipped: int = 0        # malformed entries left out


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    message: str

    @property
    def needs_upgrade(self) -> bool:
        return "upgrade" in self.message.lower()

    def rejects(self, channel: str) -> bool:
        """CoinGlass does not know this channel name (not a plan or key refusal)."""
        return channel in self.message and not self.needs_upgrade

    @property
    def bad_key(self) -> bool:
        text = self.message.lower()
        return "api key" in text and ("invalid" in text or "missing" in text)


@dataclass(frozen=True, slots=True)
class Pong:
    pass


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


PONG = Pong()
Frame = Orders | ErrorFrame | Pong | Ignored


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_order(row: object) -> Order | None:
    """One entry of ``data`` in either spelling, or None when it is not a usable order."""
    if not isinstance(row, dict):
        return None
    coin = row.get("baseAsset")
    if coin is None:
        coin = row.get("base_asset")
    side = _SIDES.get(row.get("side"))
    usd = _number(row["volUsd"] if "volUsd" in row else row.get("volume_usd"))
    millis = _number(row.get("time"))
    if not isinstance(coin, str) or not coin or side is None or usd is None or usd < 0 \
            or millis is None or millis <= 0:
        return None
    exchange = row.get("exName")
    if exchange is None:
        exchange = row.get("exchange")
    return Order(coin.upper(), side, usd, millis / 1000.0,
                 exchange if isinstance(exchange, str) else "")


def parse_frame(text: str) -> Frame:
    """What one text frame says; never raises."""
    if text.strip() == "pong":
        return PONG
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):
        return Ignored("not JSON")
    if not isinstance(body, dict):
        return Ignored("not a JSON object")
    if body.get("event") == "error":
        message = body.get("msg")
        return ErrorFrame(message if isinstance(message, str) else "unspecified error")
    if body.get("channel") not in LIQUIDATION_CHANNELS:
        return Ignored("another channel or event")
    data = body.get("data")
    if not isinstance(data, list):
        return Ignored("liquidation frame without a data list")
    orders = []
    for row in data:
        order = parse_order(row)
        if order is not None:
            orders.append(order)
    return Orders(tuple(orders), len(data) - len(orders))


class FrameCache:
    """Parse each distinct frame text once: every Standard key's socket receives the same
    broadcast, so with many keys most frames were just read for another key."""

    def __init__(self, size: int = 64):
        self.size = size
        self._recent: dict[str, Frame] = {}

    def parse(self, text: str) -> Frame:
        frame = self._recent.get(text)
        if frame is None:
            frame = parse_frame(text)
            if len(self._recent) >= self.size:
                self._recent.pop(next(iter(self._recent)))
            self._recent[text] = frame
        return frame
