"""Reading numbers the way traders type them (SPEC §6).

``parse_number(text)`` returns a float, or an :class:`Ambiguous` holding both readings when
the text could mean two numbers; anything else raises :class:`NumberError`, whose message
says what is accepted (plain text, no markup).

How the text is read:

- decimal point or decimal comma: ``3.5`` and ``3,5`` are 3.5; ``.5`` is 0.5; a trailing
  separator (``5.``) is ignored;
- a separator that appears more than once groups thousands: ``50,000,000`` and
  ``50.000.000`` are 5e7 (two decimal points cannot be meant, so the European grouping is
  read as such); groups after the first must have three digits (``12,34,567`` is refused);
- both kinds at once: the last one is the decimal separator (``1,234.5`` and ``1.234,5``
  are 1234.5);
- spaces (also no-break and thin spaces), ``_`` and ``'`` group thousands too
  (``50 000 000``, ``1_000_000``, ``1'000``) — only in groups of three, so ``1 5`` is refused;
- one separator followed by exactly three digits after 1–3 digits not starting with 0
  (``1,500``, ``1.500``, ``12,345``) is :class:`Ambiguous`: 1.5 or 1500. The period is
  treated like the comma because a German trader's ``4.000`` means 4000; ``0,500``,
  ``1234,567`` and ``1,5000`` can only be decimals;
- suffixes ``k``, ``M``, ``B`` (any case, a space before allowed) multiply by 1e3, 1e6, 1e9
  when ``suffixes=True`` (USD amounts): ``4k``, ``50M``, ``1.5B``, ``2,5M``;
- a trailing ``%`` is tolerated when ``percent=True``;
- a leading ``$`` is tolerated (``$4000``, ``-$5M``);
- a leading ``+`` or minus sign: ``-``, the Unicode minus ``−`` (U+2212) and the en dash
  ``–`` that phones put in place of ``-``;
- exponent notation without separators (``5e7``, ``1.5e-3``);
- ``nan``, ``inf``, an empty text, other characters, non-ASCII digits and results that are
  not finite are refused.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

MAX_LENGTH = 40

_MINUS_SIGNS = frozenset("-\u2212\u2013")
_SUFFIXES = {"k": 1e3, "m": 1e6, "b": 1e9}
_GROUP_CHARS = frozenset(" _'")
_EXPONENT = re.compile(r"[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]{1,3}")
_BODY_CHARS = re.compile(r"[0-9.,_' ]+")
_TOKEN = re.compile(r"[0-9]+|[.,_' ]")


class NumberError(ValueError):
    """Text that is not a number; ``str(error)`` is a user-facing sentence.

    ``reason`` says what is wrong, ``accepted`` gives examples of what is read.
    """

    def __init__(self, reason: str, accepted: str):
        super().__init__(f"{reason[:1].upper()}{reason[1:]}. {accepted}.")
        self.reason = reason
        self.accepted = accepted


@dataclass(frozen=True)
class Ambiguous:
    """A text with two readings, e.g. ``1,500``: ``decimal`` 1.5 or ``grouped`` 1500."""

    text: str
    decimal: float
    grouped: float

    @property
    def readings(self) -> tuple[float, float]:
        return (self.decimal, self.grouped)


def accepted_forms(*, suffixes: bool = False, percent: bool = False) -> str:
    """Examples of what :func:`parse_number` reads with these options, as one sentence."""
    examples = ["3.5", "3,5", "50,000,000"]
    if suffixes:
        examples += ["4k", "50M", "1.5B"]
    if percent:
        examples += ["2.5%"]
    examples.append("-0.05")
    return "Write a number like " + ", ".join(examples)


def parse_number(text: str, *, suffixes: bool = False, percent: bool = False) -> float | Ambiguous:
    """Read ``text`` as a number (see the module docstring for the forms).

    ``suffixes`` allows ``k``/``M``/``B``; ``percent`` tolerates a trailing ``%``.
    Raises :class:`NumberError` (and nothing else) when ``text`` is not a number.
    """
    accepted = accepted_forms(suffixes=suffixes, percent=percent)

    def fail(reason: str) -> NumberError:
        return NumberError(reason, accepted)

    if not isinstance(text, str):
        raise fail("not a number")
    s = unicodedata.normalize("NFKC", text).strip()
    if not s:
        raise fail("no number given")
    if len(s) > MAX_LENGTH:
        raise fail("too long for a number")

    sign = 1.0
    s = s.removeprefix("$").lstrip()
    if s[:1] in _MINUS_SIGNS or s[:1] == "+":
        sign = -1.0 if s[0] != "+" else 1.0
        s = s[1:].lstrip().removeprefix("$").lstrip()

    if s.endswith("%"):
        if not percent:
            raise fail("a % sign does not fit here")
        s = s[:-1].rstrip()

    multiplier = 1.0
    if s[-1:].lower() in _SUFFIXES and s[:-1].rstrip()[-1:].isdigit():
        if not suffixes:
            raise fail("a k/M/B suffix only fits amounts in USD")
        multiplier = _SUFFIXES[s[-1].lower()]
        s = s[:-1].rstrip()

    if not s:
        raise fail("no digits")
    if _EXPONENT.fullmatch(s):
        value: float | Ambiguous = float(s)
    elif _BODY_CHARS.fullmatch(s) and any(c.isdigit() for c in s):
        value = _read_body(s, fail)
    else:
        raise fail("not a number")

    if isinstance(value, Ambiguous):
        decimal = _finite(sign * value.decimal * multiplier, fail)
        grouped = _finite(sign * value.grouped * multiplier, fail)
        return Ambiguous(text.strip(), decimal, grouped)
    return _finite(sign * value * multiplier, fail)


def _finite(value: float, fail) -> float:
    if not math.isfinite(value):
        raise fail("too large")
    return value + 0.0          # -0.0 reads as 0


def _read_body(s: str, fail) -> float | Ambiguous:
    """Digits with separators (``.`` ``,`` and the grouping characters) → a value."""
    tokens = _TOKEN.findall(s)
    if "".join(tokens) != s:
        raise fail("not a number")
    separators = [t for t in tokens if not t.isdigit()]
    for a, b in zip(tokens, tokens[1:]):
        if not a.isdigit() and not b.isdigit():
            raise fail("two separators in a row")
    if not separators:
        return float(s)

    marks = [t for t in separators if t in ".,"]
    grouping_chars = {t for t in separators if t in _GROUP_CHARS}
    if len(grouping_chars) > 1:
        raise fail("digits grouped in two different ways")

    decimal_mark: str | None = None
    if len(set(marks)) == 2:
        decimal_mark = marks[-1]
        if marks.count(decimal_mark) > 1 or grouping_chars:
            raise fail("not a number")
        grouping_chars = {".," .replace(decimal_mark, "")}
    elif len(marks) == 1:
        decimal_mark = marks[0]
        if not grouping_chars:
            return _lone_separator(s, decimal_mark, fail)
    elif marks:
        # one kind of mark, more than once: it groups thousands
        if grouping_chars:
            raise fail("digits grouped in two different ways")
        grouping_chars = {marks[0]}

    if decimal_mark is not None:
        if separators[-1] != decimal_mark:
            raise fail("digits after the decimal separator cannot be grouped")
        whole, _, fraction = s.rpartition(decimal_mark)
    else:
        whole, fraction = s, ""
    (group_char,) = grouping_chars
    groups = whole.split(group_char)
    if not groups[0] or not (1 <= len(groups[0]) <= 3) or groups[0].startswith("0") \
            or any(len(g) != 3 for g in groups[1:]):
        raise fail("thousands must be grouped by three, like 50,000,000")
    return float("".join(groups) + "." + (fraction or "0"))


def _lone_separator(s: str, mark: str, fail) -> float | Ambiguous:
    """One ``.`` or ``,`` and nothing else: a decimal separator, unless it could group."""
    whole, _, fraction = s.partition(mark)
    if not whole and not fraction:
        raise fail("no digits")
    decimal = float((whole or "0") + "." + (fraction or "0"))
    if len(fraction) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0"):
        return Ambiguous(s, decimal, float(whole + fraction))
    return decimal


def plain(value: float) -> str:
    """The shortest text :func:`parse_number` reads back as exactly ``value``, never as
    :class:`Ambiguous`: ``4000``, ``1.5``, ``1.1250`` (a trailing zero for ``1.125``)."""
    text = repr(float(value)).removesuffix(".0")
    if isinstance(parse_number(text), Ambiguous):
        text += "0"
    return text
