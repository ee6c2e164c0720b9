"""The user's timezone: reading what they type, and showing times in it (SPEC §14).

``parse_timezone`` reads, in this order:

1. shortcuts of a curated table (``NYC``, ``india``, ``EST``, ``kiev``…; see ``SHORTCUTS``);
   US abbreviations mean the US zone *with* daylight saving (``EST`` → America/New_York,
   not IANA's fixed ``EST``: write ``-5`` for a fixed offset);
2. IANA names in any case (``europe/berlin``; spaces for underscores: ``america/new york``);
   ``utc``, ``gmt``, ``z``, ``Etc/UTC`` and the like are stored as ``UTC``;
3. fixed offsets: ``+3``, ``-5``, ``+05:30``, ``+0530``, ``UTC+5:30``, ``GMT-3`` (meaning
   UTC−3, the way people write it, not IANA's inverted ``Etc/GMT-3``), ``utc``, ``gmt``, ``z``;
   from −12:00 to +14:00 in quarter hours;
4. a city, the last part of any IANA name (``kolkata``, ``são paulo``, ``buenos aires``);
5. last, IANA's legacy names without a region (``CET``, ``Iceland``), so ``singapore``
   is Asia/Singapore rather than the old ``Singapore`` link.

What it gives back is a :class:`ZoneChoice` whose ``stored`` string is canonical
(``Europe/Berlin``, ``UTC``, ``UTC+05:30``) and read back with :func:`tz_of`. A text it
cannot read raises :class:`TimezoneError` with close matches (difflib over zone names,
cities and shortcuts).

``format_time`` shows a moment as a trader reads it: ``14:05`` today, ``Mon 14:05``
within six days either side, ``3 Jan 14:05`` this year, ``3 Jan 2027 14:05`` otherwise;
``zone_label`` gives the zone's short name at that moment (``CET``, ``CEST``, ``UTC+3``).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC_NAME = "UTC"
MAX_LENGTH = 64
ACCEPTED = ("Write a city (Berlin, New York), an IANA name (Europe/Berlin) or an offset "
            "from UTC (+3, UTC-5, UTC+5:30)")

# Cities and names people use that are not (or not only) the last part of an IANA name.
SHORTCUTS: dict[str, str] = {
    "nyc": "America/New_York", "ny": "America/New_York", "new york city": "America/New_York",
    "washington": "America/New_York", "boston": "America/New_York",
    "miami": "America/New_York", "atlanta": "America/New_York",
    "la": "America/Los_Angeles", "san francisco": "America/Los_Angeles",
    "sf": "America/Los_Angeles", "seattle": "America/Los_Angeles",
    "silicon valley": "America/Los_Angeles", "las vegas": "America/Los_Angeles",
    "dallas": "America/Chicago", "houston": "America/Chicago", "austin": "America/Chicago",
    "salt lake city": "America/Denver",
    "montreal": "America/Toronto", "rio": "America/Sao_Paulo",
    "rio de janeiro": "America/Sao_Paulo", "brazil": "America/Sao_Paulo",
    "argentina": "America/Argentina/Buenos_Aires", "mexico": "America/Mexico_City",
    "bogota": "America/Bogota", "lima": "America/Lima", "santiago": "America/Santiago",
    "uk": "Europe/London", "england": "Europe/London", "germany": "Europe/Berlin",
    "frankfurt": "Europe/Berlin", "munich": "Europe/Berlin", "hamburg": "Europe/Berlin",
    "france": "Europe/Paris", "spain": "Europe/Madrid", "barcelona": "Europe/Madrid",
    "italy": "Europe/Rome", "milan": "Europe/Rome", "netherlands": "Europe/Amsterdam",
    "switzerland": "Europe/Zurich", "geneva": "Europe/Zurich", "poland": "Europe/Warsaw",
    "portugal": "Europe/Lisbon", "ireland": "Europe/Dublin", "greece": "Europe/Athens",
    "turkey": "Europe/Istanbul", "ankara": "Europe/Istanbul", "istanbul": "Europe/Istanbul",
    "russia": "Europe/Moscow", "saint petersburg": "Europe/Moscow",
    "st petersburg": "Europe/Moscow", "ukraine": "Europe/Kyiv", "kiev": "Europe/Kyiv",
    "kyiv": "Europe/Kyiv", "israel": "Asia/Jerusalem", "tel aviv": "Asia/Jerusalem",
    "uae": "Asia/Dubai", "abu dhabi": "Asia/Dubai", "saudi arabia": "Asia/Riyadh",
    "india": "Asia/Kolkata", "mumbai": "Asia/Kolkata", "bombay": "Asia/Kolkata",
    "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata", "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata", "calcutta": "Asia/Kolkata", "pakistan": "Asia/Karachi",
    "vietnam": "Asia/Ho_Chi_Minh", "saigon": "Asia/Ho_Chi_Minh", "hanoi": "Asia/Ho_Chi_Minh",
    "thailand": "Asia/Bangkok", "indonesia": "Asia/Jakarta", "bali": "Asia/Makassar",
    "malaysia": "Asia/Kuala_Lumpur", "philippines": "Asia/Manila",
    "china": "Asia/Shanghai", "beijing": "Asia/Shanghai", "shenzhen": "Asia/Shanghai",
    "hk": "Asia/Hong_Kong", "hongkong": "Asia/Hong_Kong", "taiwan": "Asia/Taipei",
    "korea": "Asia/Seoul",
    "south korea": "Asia/Seoul", "japan": "Asia/Tokyo", "osaka": "Asia/Tokyo",
    "australia": "Australia/Sydney", "canberra": "Australia/Sydney",
    "new zealand": "Pacific/Auckland", "nz": "Pacific/Auckland", "wellington": "Pacific/Auckland",
    "nigeria": "Africa/Lagos", "south africa": "Africa/Johannesburg",
    "cape town": "Africa/Johannesburg", "egypt": "Africa/Cairo", "kenya": "Africa/Nairobi",
    "kazakhstan": "Asia/Almaty", "astana": "Asia/Almaty",
    "est": "America/New_York", "edt": "America/New_York", "et": "America/New_York",
    "eastern": "America/New_York", "cst": "America/Chicago", "cdt": "America/Chicago",
    "ct": "America/Chicago", "central": "America/Chicago", "mst": "America/Denver",
    "mdt": "America/Denver", "mountain": "America/Denver", "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles", "pt": "America/Los_Angeles", "pacific": "America/Los_Angeles",
    "bst": "Europe/London", "cest": "Europe/Berlin", "msk": "Europe/Moscow",
    "ist": "Asia/Kolkata", "hkt": "Asia/Hong_Kong", "sgt": "Asia/Singapore",
    "jst": "Asia/Tokyo", "kst": "Asia/Seoul", "aest": "Australia/Sydney",
    "aedt": "Australia/Sydney",
}

_UTC_WORDS = frozenset({"utc", "gmt", "z", "zulu", "utc0", "gmt0", "utc+0", "utc-0",
                        "gmt+0", "gmt-0", "+0", "-0", "0", "uct", "universal", "greenwich",
                        "etc/utc", "etc/uct", "etc/gmt", "etc/zulu", "etc/universal",
                        "etc/greenwich", "etc/gmt0", "etc/gmt+0", "etc/gmt-0"})
_OFFSET = re.compile(
    r"(?:utc|gmt)?\s*([+\-\u2212\u2013])\s*([0-9]{1,2})(?:(?::|\.|h)?([0-9]{2}))?")
_STORED_OFFSET = re.compile(r"UTC([+-])([0-9]{2}):([0-9]{2})")
_REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe",
            "Indian", "Pacific")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class TimezoneError(ValueError):
    """A timezone text that cannot be read; ``str(error)`` is a user-facing sentence.

    ``suggestions`` holds up to three stored names close to what was typed, best first.
    """

    def __init__(self, message: str, suggestions: tuple[str, ...] = ()):
        super().__init__(message)
        self.suggestions = suggestions


@dataclass(frozen=True)
class ZoneChoice:
    """A timezone the user chose.

    ``stored`` is what to keep (``Europe/Berlin``, ``UTC``, ``UTC+05:30``); ``kind`` says
    how the text was read: ``"name"`` (IANA), ``"city"`` (a city or shortcut), ``"offset"``.
    """

    stored: str
    kind: str

    @property
    def tz(self) -> tzinfo:
        return tz_of(self.stored)

    @property
    def fixed(self) -> bool:
        """A fixed offset: clocks there do not follow daylight saving time."""
        return self.kind == "offset" or self.stored == UTC_NAME


def parse_timezone(text: str) -> ZoneChoice:
    """Read a timezone the user typed; raise :class:`TimezoneError` with close matches."""
    key = _normalise(text)
    if not key:
        raise TimezoneError(f"No timezone given. {ACCEPTED}.")
    if len(key) > MAX_LENGTH:
        raise TimezoneError(f"That is too long for a timezone. {ACCEPTED}.")
    if key in SHORTCUTS:
        return ZoneChoice(SHORTCUTS[key], "city")
    compact = key.replace(" ", "")
    if compact in _UTC_WORDS:
        return ZoneChoice(UTC_NAME, "offset")
    name = _zone_names().get(key.replace(" ", "_"))
    if name is not None and "/" in name:
        return ZoneChoice(name, "name")
    match = _OFFSET.fullmatch(compact)
    if match:
        return ZoneChoice(_offset_choice(*match.groups()), "offset")
    city = _cities().get(key.replace("_", " ").replace("-", " "))
    if city is not None:
        return ZoneChoice(city, "city")
    if name is not None:           # a legacy name without a region: CET, Iceland, Cuba
        return ZoneChoice(name, "name")
    suggestions = _suggest(key)
    hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
    raise TimezoneError(f"I don't know that timezone.{hint} {ACCEPTED}.", suggestions)


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def _offset_choice(sign: str, hours: str, minutes: str | None) -> str:
    h, m = int(hours), int(minutes or 0)
    total = h * 60 + m
    negative = sign != "+"
    if m % 15 or m >= 60:
        raise TimezoneError(f"Offsets are whole hours or :15, :30, :45 past. {ACCEPTED}.")
    if (negative and total > 12 * 60) or (not negative and total > 14 * 60):
        raise TimezoneError(f"Offsets run from UTC-12 to UTC+14. {ACCEPTED}.")
    if total == 0:
        return UTC_NAME
    return f"UTC{'-' if negative else '+'}{h:02d}:{m:02d}"


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    """Lower-case IANA name → its proper spelling."""
    skip = ("posix/", "right/", "SystemV/")
    return {name.lower(): name for name in available_timezones()
            if not name.startswith(skip) and name not in ("Factory", "localtime", "posixrules")}


@lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """City (last part of an IANA name, lower-case, spaces) → the preferred zone."""
    def preference(name: str) -> tuple:
            # Regions before legacy names (US/Eastern); America/Argentina/Cordoba is the
        # zone and America/Cordoba only its old link, so the longer name wins.
        return (name.split("/")[0] not in _REGIONS, -name.count("/"), name)

    cities: dict[str, str] = {}
    for name in sorted(_zone_names().values(), key=preference):
        if "/" not in name or name.startswith("Etc/"):
            continue
        city = name.rsplit("/", 1)[1].replace("_", " ").replace("-", " ").lower()
        cities.setdefault(city, name)
    return cities


def _suggest(key: str, n: int = 3) -> tuple[str, ...]:
    candidates: dict[str, str] = {}
    candidates.update({k: v for k, v in _zone_names().items() if "/" in k})
    candidates.update(_cities())
    candidates.update({k: v for k, v in SHORTCUTS.items() if len(k) > 3})
    found: list[str] = []
    for probe in (key.replace(" ", "_"), key.replace("_", " ")):
        for match in difflib.get_close_matches(probe, list(candidates), n=6, cutoff=0.75):
            zone = candidates[match]
            if zone not in found:
                found.append(zone)
    return tuple(found[:n])


def tz_of(stored: str | None) -> tzinfo:
    """The tzinfo of a stored timezone string; UTC for none or one no longer known.

    Never raises: a stored value was valid when stored, and a background job must not
    stop because tzdata dropped a zone.
    """
    if not stored or stored == UTC_NAME:
        return timezone.utc
    match = _STORED_OFFSET.fullmatch(stored)
    if match:
        sign, hours, minutes = match.groups()
        seconds = (int(hours) * 3600 + int(minutes) * 60) * (-1 if sign == "-" else 1)
        return timezone(timedelta(seconds=seconds), format_offset(seconds))
    try:
        return ZoneInfo(stored)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def format_offset(seconds: float) -> str:
    """An offset from UTC as users read it: ``UTC``, ``UTC+3``, ``UTC+5:30``, ``UTC-9:30``."""
    total = int(round(seconds / 60))
    if total == 0:
        return UTC_NAME
    sign = "-" if total < 0 else "+"
    hours, minutes = divmod(abs(total), 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def _aware(moment: float | datetime, tz: tzinfo) -> datetime:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            raise ValueError("a naive datetime has no moment; give it a timezone")
        return moment.astimezone(tz)
    return datetime.fromtimestamp(moment, tz)


def zone_label(tz: tzinfo, ts: float | datetime) -> str:
    """The zone's short name at ``ts``: ``CET``/``CEST``, ``EST``/``EDT``, ``UTC+3``."""
    local = _aware(ts, tz)
    name = local.tzname()
    if not name or name[0] in "+-" or name in ("GMT", "UTC", "Z"):
        return format_offset(local.utcoffset().total_seconds())
    return name


def format_time(ts: float | datetime, tz: tzinfo, now: float | datetime) -> str:
    """``ts`` in ``tz``: ``14:05`` today, ``Mon 14:05`` within 6 days, ``3 Jan 14:05``
    this year, ``3 Jan 2027 14:05`` another year (days counted on the local calendar)."""
    local = _aware(ts, tz)
    today = _aware(now, tz).date()
    clock = f"{local.hour:02d}:{local.minute:02d}"
    days = (local.date() - today).days
    if days == 0:
        return clock
    if abs(days) <= 6:
        return f"{_WEEKDAYS[local.weekday()]} {clock}"
    day = f"{local.day} {_MONTHS[local.month - 1]}"
    if local.year == today.year:
        return f"{day} {clock}"
    return f"{day} {local.year} {clock}"
