"""One-tap start links: ``t.me/<bot>?start=ETH_SOL`` arrives as ``/start ETH_SOL`` (SPEC §17).

Telegram allows ``A-Za-z0-9_-`` and at most 64 characters in a start payload, so coins are
joined with ``_`` (``-`` is read too): ``ETH``, ``ETH_SOL``, ``eth-sol-btc``. Each part is
read like ``/subscribe`` reads coins (:func:`core.coins.parse_coins`: upper-cased,
de-duplicated, ``ETHUSDT`` → ``ETH``). Whether CoinGlass supports a coin is for the
caller to check against its supported-coin list.
"""

from __future__ import annotations

import re
from typing import Iterable

from core.coins import MAX_COINS_PER_MESSAGE, parse_coins

MAX_PAYLOAD = 64
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]+")


class StartPayloadError(ValueError):
    """A start payload that is not a list of coins; ``str(error)`` is user-facing."""


def parse_start_payload(payload: str) -> list[str]:
    """The coins in a ``/start`` payload, in order; ``[]`` for none.

    Raises :class:`StartPayloadError` for characters Telegram does not send, a payload
    over 64 characters, a part that cannot be a symbol, or more than 20 coins.
    """
    payload = (payload or "").strip()
    if not payload:
        return []
    if len(payload) > MAX_PAYLOAD or not _PAYLOAD.fullmatch(payload):
        raise StartPayloadError("That start link is not a list of coins; it should look "
                                "like ?start=ETH or ?start=ETH_SOL.")
    parts = [part for part in re.split(r"[_-]+", payload) if part]
    parsed = parse_coins(" ".join(parts))
    if parsed.malformed:
        raise StartPayloadError("That start link holds something that is not a coin "
                                "symbol; it should look like ?start=ETH_SOL.")
    if len(parsed.coins) > MAX_COINS_PER_MESSAGE:
        raise StartPayloadError(f"A start link can add at most {MAX_COINS_PER_MESSAGE} coins.")
    return parsed.coins


def start_payload(coins: Iterable[str]) -> str:
    """The payload that subscribes ``coins``: ``ETH_SOL``. Raises ValueError over 64 chars."""
    payload = "_".join(coin.upper() for coin in coins)
    if len(payload) > MAX_PAYLOAD or (payload and not _PAYLOAD.fullmatch(payload)):
        raise ValueError(f"a start payload holds at most {MAX_PAYLOAD} characters of A-Z0-9_")
    return payload
