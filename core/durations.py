"""Durations users type: ``/pause 2h``, ``/mute ETH 30m`` (SPEC §4).

``parse_duration`` reads one or more ``NUMBER UNIT`` parts, largest unit first:
``90m``, ``1.5h``, ``1,5h``, ``2d``, ``30 min``, ``2 hours``, ``1h30m``, ``1 h 30 min``,
``1w``, and ``1h30`` for 1h30m. Units (any case): ``s``/``sec``/``second(s)``,
``m``/``min``/``minute(s)``, ``h``/``hr``/``hour(s)``, ``d``/``day(s)``,
``w``/``wk``/``week(s)``; ``M`` is minutes too (nobody pauses alerts for months). A bare
number is refused — ``90`` could be minutes or hours — and the error suggests the minutes
reading. The result is whole seconds,
between ``minimum`` and ``maximum`` (1 minute and 30 days unless given).
"""

from __future__ import annotations

import re

MINUTE = 60
HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
DEFAULT_MINIMUM = MINUTE
DEFAULT_MAXIMUM = 30 * DAY
MAX_LENGTH = 40

_UNITS: dict[str, int] = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), MINUTE),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), HOUR),
    **dict.fromkeys(("d", "day", "days"), DAY),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), WEEK),
}
_PART = re.compile(r"\s*([0-9]+(?:[.,][0-9]+)?)\s*([a-z]+)")
_TRAILING_MINUTES = re.compile(r"\s*([0-9]{1,2})")
_BARE = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
ACCEPTED = "Write it like 30m, 1.5h, 2d or 1h30m"


class DurationError(ValueError):
    """Text that is not a usable duration; ``str(error)`` is a user-facing sentence.

    ``suggestion`` is a corrected text to offer (``"90m"`` for ``90``) or None.
    """

    def __init__(self, message: str, suggestion: str | None = None):
        super().__init__(message)
        self.suggestion = suggestion


def parse_duration(text: str, *, minimum: int = DEFAULT_MINIMUM,
                   maximum: int = DEFAULT_MAXIMUM) -> int:
    """``text`` as whole seconds; raises :class:`DurationError` saying what is accepted."""
    bounds = f"from {format_duration(minimum)} to {format_duration(maximum)}"
    s = (text or "").strip().lower()
    if not s:
        raise DurationError(f"No duration given. {ACCEPTED} ({bounds}).")
    if len(s) > MAX_LENGTH:
        raise DurationError(f"That is too long for a duration. {ACCEPTED} ({bounds}).")
    if _BARE.fullmatch(s):
        raise DurationError(f"A duration needs a unit: {s}m or {s}h? {ACCEPTED} ({bounds}).",
                            suggestion=f"{s}m")
    seconds = 0.0
    position = 0
    last_size = None
    while position < len(s):
        match = _PART.match(s, position)
        trailing = _TRAILING_MINUTES.fullmatch(s, position)
        if match is None and trailing and last_size == HOUR:      # "1h30" is 1h30m
            seconds += int(trailing.group(1)) * MINUTE
            break
        if match is None:
            raise DurationError(f"That is not a duration. {ACCEPTED} ({bounds}).")
        number, unit = match.groups()
        size = _UNITS.get(unit)
        if size is None:
            raise DurationError(f"Unknown unit {unit!r}. {ACCEPTED} ({bounds}).")
        if last_size is not None and size >= last_size:
            raise DurationError(f"Put the larger unit first, each once, like 1h30m. "
                                f"{ACCEPTED} ({bounds}).")
        seconds += float(number.replace(",", ".")) * size
        last_size = size
        position = match.end()
    total = round(seconds)
    if not minimum <= total <= maximum:
        raise DurationError(f"A duration must be {bounds}. {ACCEPTED}.")
    return total


def format_duration(seconds: float) -> str:
    """Seconds as users write them, two largest units at most: ``30d``, ``1h 30m``, ``45s``."""
    seconds = int(round(seconds))
    if seconds <= 0:
        return "0m"
    parts = []
    for size, unit in ((DAY, "d"), (HOUR, "h"), (MINUTE, "m"), (1, "s")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
        if len(parts) == 2:
            break
    return " ".join(parts)
