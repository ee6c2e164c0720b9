"""How CoinGlass writes numbers: rounding, numeric strings, millisecond times."""

from __future__ import annotations

import math


def text(value: float, decimals: int) -> str:
    """A numeric string as CoinGlass sends it: ``"96752.7"``, ``"103585"``, ``"0.007166"``."""
    s = f"{value:.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def pct(value: float) -> float:
    """Percentages travel with two decimals."""
    return round(value, 2)


def usd(value: float) -> float:
    return round(value, 4)


def whole(value: float) -> int | float:
    """An integer literal when the value is whole (CoinGlass mixes ``123`` and ``123.5``)."""
    return int(value) if float(value).is_integer() else value


def ms(t: float) -> int:
    return int(math.floor(t * 1000 + 0.5))


def change_pct(now: float, before: float) -> float:
    return (now / before - 1.0) * 100.0 if before else 0.0
