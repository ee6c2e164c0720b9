"""Quiet hours and the daily digest clock, in the user's timezone (SPEC §14).

Local times are honoured across daylight-saving changes with one rule: a local time
happens at the **first moment the clock shows it or a later time that day**. So a time
that exists twice (02:30 on a fall-back night) happens once, the first time; a time that
does not exist (02:30 on a spring-forward night in Berlin) happens when the clock jumps
past it (03:00 CEST).

Quiet hours are the span from the start's moment to the end's first moment after it
(``23:00-07:00`` starting on Monday ends on Tuesday at 07:00). A window whose start and
end are the same time is refused. ``mode``: ``hold`` (the default; alerts below HIGH
wait until the window ends, HIGH still arrives), ``silent`` (everything arrives without
sound), ``all`` (everything waits); :func:`delivery` says which applies to one alert.

The digest is due once per local day at its time: :func:`digest_due` says ``send`` until
it is sent, and ``skip`` when its moment passed more than ``max_late`` ago (a digest is
not worth sending at lunchtime); :func:`next_digest_at` gives the next moment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from enum import Enum

from core.signals.model import Level

DIGEST_MAX_LATE = 6 * 3600.0
MAX_LENGTH = 60

CLOCK_FORMS = "Write a time like 08:00, 8, 8:30, 08.00, 8am, 8 pm or 20h (00:00 to 23:59)"
QUIET_FORMS = ("Write quiet hours like 23:00-07:00, 23-7 or 22:30–06:15, optionally followed "
               "by hold (alerts below HIGH wait until the end; the default), silent "
               "(everything arrives without sound) or all (everything waits); or off")


class ClockError(ValueError):
    """A time of day that cannot be read; ``str(error)`` is a user-facing sentence."""


class QuietError(ValueError):
    """Quiet hours that cannot be read or used; ``str(error)`` is a user-facing sentence."""


class QuietMode(str, Enum):
    HOLD = "hold"
    SILENT = "silent"
    ALL = "all"


class Delivery(str, Enum):
    """What to do with one alert now: send it, send it without sound, or hold it."""

    SEND = "send"
    SILENT = "silent"
    HOLD = "hold"


class Due(str, Enum):
    """Whether the digest goes out now (compares equal to ``"send"`` etc.)."""

    SEND = "send"
    SKIP = "skip"
    WAIT = "wait"


@dataclass(frozen=True)
class QuietHours:
    """Daily quiet hours from ``start`` to ``end`` local time (across midnight if end < start)."""

    start: time
    end: time
    mode: QuietMode = QuietMode.HOLD

    def __post_init__(self) -> None:
        if (self.start.hour, self.start.minute) == (self.end.hour, self.end.minute):
            raise QuietError(f"Quiet hours need a start and an end that differ. {QUIET_FORMS}.")

    @property
    def text(self) -> str:
        """``23:00-07:00 hold``: how it is shown and stored; :func:`parse_quiet` reads it back."""
        return f"{_hhmm(self.start)}-{_hhmm(self.end)} {self.mode.value}"


def _hhmm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


# --- reading what users type -------------------------------------------------------------

_CLOCK = re.compile(
    r"([0-9]{1,2})(?:\s*[:.h]\s*([0-9]{2}))?\s*(am|a\.m\.?|pm|p\.m\.?|h)?")
_CLOCK_HHMM = re.compile(r"([0-9]{2})([0-9]{2})")
_RANGE_SPLIT = re.compile(r"\s*(?:-|\u2013|\u2014|\u2012|\bto\b|\buntil\b|\btill\b)\s*")


def parse_clock(text: str) -> time:
    """A time of day: ``8``, ``8:00``, ``08.00``, ``0800``, ``8am``, ``8 pm``, ``20h``, ``20h30``.

    Raises :class:`ClockError` naming the accepted forms (``25:00``, ``24:00``, ``noon``...).
    """
    s = " ".join((text or "").lower().split())
    if not s:
        raise ClockError(f"No time given. {CLOCK_FORMS}.")
    match = _CLOCK.fullmatch(s) if len(s) <= 12 else None
    if match:
        hour, minute = int(match.group(1)), int(match.group(2) or 0)
        meridiem = (match.group(3) or "").rstrip(".")[:1]
    else:
        match = _CLOCK_HHMM.fullmatch(s)
        if not match:
            raise ClockError(f"That is not a time of day. {CLOCK_FORMS}.")
        hour, minute, meridiem = int(match.group(1)), int(match.group(2)), ""
    if minute > 59:
        raise ClockError(f"Minutes go up to 59. {CLOCK_FORMS}.")
    if meridiem in ("a", "p"):
        if not 1 <= hour <= 12:
            raise ClockError(f"With am/pm the hour is 1 to 12. {CLOCK_FORMS}.")
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    elif hour == 24 and minute == 0:
        raise ClockError(f"Midnight is 00:00. {CLOCK_FORMS}.")
    elif hour > 23:
        raise ClockError(f"Hours go up to 23. {CLOCK_FORMS}.")
    return time(hour, minute)


def parse_quiet(text: str) -> QuietHours | None:
    """``23:00-07:00 [hold|silent|all]``, ``23-7``, ``22:30–06:15``, ``11pm-7am``; ``off`` → None.

    Raises :class:`QuietError` listing the accepted forms.
    """
    s = " ".join((text or "").lower().split())
    if s in ("off", "none", "no"):
        return None
    if not s:
        raise QuietError(f"No quiet hours given. {QUIET_FORMS}.")
    if len(s) > MAX_LENGTH:
        raise QuietError(f"That is too long for quiet hours. {QUIET_FORMS}.")
    words = s.split(" ")
    mode = QuietMode.HOLD
    modes = {m.value: m for m in QuietMode}
    if words[-1] in modes:
        mode = modes[words.pop()]
    elif words[0] in modes:
        mode = modes[words.pop(0)]
    sides = _RANGE_SPLIT.split(" ".join(words))
    if len(sides) != 2 or not all(sides):
        raise QuietError(f"Quiet hours need a start and an end. {QUIET_FORMS}.")
    try:
        start, end = parse_clock(sides[0]), parse_clock(sides[1])
    except ClockError:
        raise QuietError(f"I can't read those times. {QUIET_FORMS}.") from None
    return QuietHours(start, end, mode)


def parse_digest(text: str) -> time | None:
    """``/digest 08:00`` → 08:00; ``off`` → None; raises :class:`ClockError` otherwise."""
    if " ".join((text or "").lower().split()) in ("off", "none", "no"):
        return None
    return parse_clock(text)


# --- local times as moments --------------------------------------------------------------

def local_moment(day: date, at: time, tz: tzinfo) -> float:
    """The Unix time when the clock in ``tz`` first shows ``at`` (or later) on ``day``.

    A repeated time gives its first occurrence; a time in a spring-forward gap gives the
    moment of the jump.
    """
    naive = datetime.combine(day, at.replace(tzinfo=None))
    first = naive.replace(tzinfo=tz, fold=0).timestamp()
    if _wall(first, tz) == naive:
        return first
    # In a gap: fold=1 reads the time with the later offset (a moment before the jump),
    # fold=0 with the earlier one (after it). The jump lies between; find it to the second.
    lo, hi = naive.replace(tzinfo=tz, fold=1).timestamp(), first
    if lo > hi:
        lo, hi = hi, lo
    lo, hi = float(int(lo)), float(int(hi) + 1)
    while hi - lo > 1:
        mid = float((lo + hi) // 2)
        if _wall(mid, tz) >= naive:
            hi = mid
        else:
            lo = mid
    return hi


def _wall(ts: float, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts, tz).replace(tzinfo=None)


def _local_date(ts: float, tz: tzinfo) -> date:
    return datetime.fromtimestamp(ts, tz).date()


def _window(q: QuietHours, tz: tzinfo, day: date) -> tuple[float, float]:
    """The quiet span starting on local ``day`` as (start, end) Unix times; may be empty."""
    start = local_moment(day, q.start, tz)
    end_day = day if q.start < q.end else day + timedelta(days=1)
    end = local_moment(end_day, q.end, tz)
    return start, max(start, end)


def _windows(q: QuietHours, tz: tzinfo, ts: float, days: range) -> list[tuple[float, float]]:
    today = _local_date(ts, tz)
    return [_window(q, tz, today + timedelta(days=n)) for n in days]


# --- quiet hours -------------------------------------------------------------------------

def is_quiet(q: QuietHours | None, tz: tzinfo, ts: float) -> bool:
    """Whether Unix time ``ts`` falls inside the quiet hours (never, when ``q`` is None)."""
    if q is None:
        return False
    return any(start <= ts < end for start, end in _windows(q, tz, ts, range(-1, 2)))


def quiet_ends_at(q: QuietHours, tz: tzinfo, ts: float) -> float:
    """When the quiet hours end: the current window's end while quiet, else the next one's.

    At the returned moment it is not quiet; just before it, it is.
    """
    end = _end_from(q, tz, ts)
    for _ in range(3):          # windows that touch (DST can lengthen one): the last end
        if not is_quiet(q, tz, end):
            break
        end = _end_from(q, tz, end)
    return end


def _end_from(q: QuietHours, tz: tzinfo, ts: float) -> float:
    windows = _windows(q, tz, ts, range(-1, 3))
    containing = [end for start, end in windows if start <= ts < end]
    if containing:
        return max(containing)
    return min(end for start, end in windows if start > ts and end > start)


def delivery(q: QuietHours | None, tz: tzinfo, ts: float, level: Level) -> Delivery:
    """How an alert of ``level`` is delivered at ``ts`` under the quiet hours ``q``."""
    if not is_quiet(q, tz, ts):
        return Delivery.SEND
    if q.mode == QuietMode.SILENT:
        return Delivery.SILENT
    if q.mode == QuietMode.HOLD and level >= Level.HIGH:
        return Delivery.SEND
    return Delivery.HOLD


# --- the daily digest --------------------------------------------------------------------

def next_digest_at(local_time: time, tz: tzinfo, after_ts: float) -> float:
    """The first digest moment strictly after ``after_ts``."""
    today = _local_date(after_ts, tz)
    moments = (local_moment(today + timedelta(days=n), local_time, tz) for n in range(-1, 3))
    return min(m for m in moments if m > after_ts)


def last_digest_moment(local_time: time, tz: tzinfo, now_ts: float) -> float:
    """The latest digest moment at or before ``now_ts``."""
    today = _local_date(now_ts, tz)
    moments = (local_moment(today + timedelta(days=n), local_time, tz) for n in range(-2, 2))
    return max(m for m in moments if m <= now_ts)


def digest_due(local_time: time, tz: tzinfo, last_sent_ts: float | None, now_ts: float,
               max_late: float = DIGEST_MAX_LATE) -> Due:
    """Whether the daily digest goes out now.

    ``last_sent_ts`` is when it was last sent — or when the user switched it on, so that
    ``/digest 08:00`` typed at 10:00 waits for tomorrow instead of sending at once (None
    means "never": the latest moment is caught up if it is recent enough).

    ``SEND``: the latest moment has passed and this day's digest is not sent yet;
    ``SKIP``: it passed more than ``max_late`` seconds ago and is not sent late (nothing is
    due until :func:`next_digest_at`; no state to record); ``WAIT``: already sent.
    Restarts are safe as long as ``last_sent_ts`` is stored when the digest is sent.
    """
    moment = last_digest_moment(local_time, tz, now_ts)
    if last_sent_ts is not None and last_sent_ts >= moment:
        return Due.WAIT
    if now_ts - moment > max_late:
        return Due.SKIP
    return Due.SEND
