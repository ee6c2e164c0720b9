"""Reading ``/position`` the way traders type it (SPEC §16). Pure: text in, data out.

========================================================  =====================================
``/position``                                              list the positions (:class:`ListAll`)
``/position ETH``                                          show one (:class:`Show`)
``/position ETH close``                                    forget one (:class:`Close`)
``/position ETH long 3150 [stop 3080] [tp 3300]``          declare one (:class:`Declare`)
========================================================  =====================================

Prices are read with :func:`core.numbers.parse_number` (decimal comma, ``95k``, ``$3150``);
``sl`` is accepted for ``stop``, ``target`` for ``tp``, ``at``/``@`` before the entry, and
``stop=3080`` as well as ``stop 3080``. A price that reads two ways (``3,150``: 3.15 or 3150)
stays :class:`~core.numbers.Ambiguous` here; :func:`resolve` settles it against the coin's
price when only one reading is plausible, and otherwise the user is asked.

Anything else raises :class:`PositionInputError`, whose message says what is wrong in plain
text (the bot escapes it and adds the usage).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace

from core.coins import parse_coins
from core.numbers import Ambiguous, NumberError, parse_number
from core.position_guard import SIDES

USAGE = ("/position ETH long 3150 — declare a position (entry 3150); add stop 3080 and/or "
         "tp 3300 if you have them. /position lists yours, /position ETH close forgets one.")

PRICE_FORMS = "Write prices like 3150, 3150.5, 3150,5, 3,150.5 or 95k."
STOP_WORDS = frozenset({"stop", "sl", "stoploss", "stop-loss"})
TP_WORDS = frozenset({"tp", "target", "takeprofit", "take-profit"})
CLOSE_WORDS = frozenset({"close", "closed", "del", "delete", "remove", "forget"})
AT_WORDS = frozenset({"at", "@"})
PLAUSIBLE_FACTOR = 3.0          # a reading within ×/÷ 3 of the price is plausible
_SPLIT = re.compile(r"[\s=]+")
_QUOTE_MAX = 20                 # how much of an unreadable word is quoted back

Price = float | Ambiguous


class PositionInputError(ValueError):
    """``/position`` text that cannot be used; ``str(error)`` is one plain sentence."""


@dataclass(frozen=True)
class ListAll:
    pass


@dataclass(frozen=True)
class Show:
    coin: str


@dataclass(frozen=True)
class Close:
    coin: str


@dataclass(frozen=True)
class Declare:
    coin: str
    side: str
    entry: Price
    stop: Price | None = None
    take_profit: Price | None = None

    def ambiguous(self) -> list[tuple[str, Ambiguous]]:
        """(field name, value) of every price that reads two ways."""
        return [(f.name, getattr(self, f.name)) for f in fields(self)
                if isinstance(getattr(self, f.name), Ambiguous)]


Request = ListAll | Show | Close | Declare


def _quote(word: str) -> str:
    return word if len(word) <= _QUOTE_MAX else word[:_QUOTE_MAX] + "…"


def _price(word: str, what: str) -> Price:
    try:
        return parse_number(word, suffixes=True)
    except NumberError as exc:
        raise PositionInputError(f"The {what} “{_quote(word)}” is not a price ({exc.reason}). "
                                 f"{PRICE_FORMS}") from None


def parse_position(text: str) -> Request:
    """Read the text after ``/position``."""
    words = [w for w in _SPLIT.split(text.strip()) if w]
    if not words:
        return ListAll()
    parsed = parse_coins(words[0])
    if len(parsed.coins) != 1 or parsed.malformed:
        raise PositionInputError(
            f"“{_quote(words[0])}” is not a coin symbol (like ETH or BTC).")
    coin = parsed.coins[0]
    rest = words[1:]
    if not rest:
        return Show(coin)
    head = rest[0].lower()
    if head in CLOSE_WORDS:
        if len(rest) > 1:
            raise PositionInputError(f"/position {coin} close takes nothing after it.")
        return Close(coin)
    if head not in SIDES:
        raise PositionInputError(f"The side must be long or short, not “{_quote(rest[0])}”.")
    return _declare(coin, head, rest[1:])


def _declare(coin: str, side: str, words: list[str]) -> Declare:
    if words and words[0].lower() in AT_WORDS:
        words = words[1:]
    elif words and words[0].startswith("@"):
        words = [words[0][1:]] + words[1:]
    if not words or words[0].lower() in STOP_WORDS | TP_WORDS:
        raise PositionInputError(f"The entry price is missing: /position {coin} {side} 3150.")
    entry = _price(words[0], "entry")
    levels: dict[str, Price] = {}
    i = 1
    while i < len(words):
        word = words[i].lower()
        if word in STOP_WORDS:
            name, what = "stop", "stop"
        elif word in TP_WORDS:
            name, what = "take_profit", "take-profit"
        else:
            raise PositionInputError(
                f"I don't know “{_quote(words[i])}” here: after the entry come stop PRICE "
                "and/or tp PRICE.")
        if name in levels:
            raise PositionInputError(f"The {what} is given twice.")
        if i + 1 >= len(words):
            raise PositionInputError(f"The {what} price is missing after “{words[i]}”.")
        levels[name] = _price(words[i + 1], what)
        i += 2
    return Declare(coin, side, entry, levels.get("stop"), levels.get("take_profit"))


def resolve(value: Price | None, reference: float | None) -> Price | None:
    """An ambiguous price settled by the coin's ``reference`` price: the reading within
    ×/÷ :data:`PLAUSIBLE_FACTOR` of it when exactly one is (for ETH at 3,160, ``3,150`` is
    3150, not 3.15); otherwise still :class:`Ambiguous`."""
    if not isinstance(value, Ambiguous) or not reference or reference <= 0:
        return value
    plausible = [r for r in value.readings
                 if reference / PLAUSIBLE_FACTOR <= abs(r) <= reference * PLAUSIBLE_FACTOR]
    return plausible[0] if len(plausible) == 1 else value


def resolve_all(request: Declare, reference: float | None) -> Declare:
    """``request`` with every ambiguous price :func:`resolve`-d against ``reference``."""
    return replace(request, entry=resolve(request.entry, reference),
                   stop=resolve(request.stop, reference),
                   take_profit=resolve(request.take_profit, reference))
