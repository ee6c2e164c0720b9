"""The user's timezone: what they type, what is stored, and times shown in it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import given, strategies as st

from core.timezones import (
    SHORTCUTS, TimezoneError, ZoneChoice, format_offset, format_time, parse_timezone, tz_of,
    zone_label,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("text,stored,kind", [
    ("Europe/Berlin", "Europe/Berlin", "name"), ("europe/berlin", "Europe/Berlin", "name"),
    ("EUROPE/BERLIN", "Europe/Berlin", "name"), ("america/new york", "America/New_York", "name"),
    ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires", "name"),
    ("Etc/GMT-3", "Etc/GMT-3", "name"), ("CET", "CET", "name"),
    ("berlin", "Europe/Berlin", "city"), ("Berlin", "Europe/Berlin", "city"),
    ("new york", "America/New_York", "city"), ("New  York", "America/New_York", "city"),
    ("new_york", "America/New_York", "city"), ("NYC", "America/New_York", "city"),
    ("london", "Europe/London", "city"), ("singapore", "Asia/Singapore", "city"),
    ("tokyo", "Asia/Tokyo", "city"), ("dubai", "Asia/Dubai", "city"),
    ("hong kong", "Asia/Hong_Kong", "city"), ("sydney", "Australia/Sydney", "city"),
    ("moscow", "Europe/Moscow", "city"), ("kyiv", "Europe/Kyiv", "city"),
    ("kiev", "Europe/Kyiv", "city"), ("istanbul", "Europe/Istanbul", "city"),
    ("los angeles", "America/Los_Angeles", "city"), ("LA", "America/Los_Angeles", "city"),
    ("chicago", "America/Chicago", "city"), ("sao paulo", "America/Sao_Paulo", "city"),
    ("São Paulo", "America/Sao_Paulo", "city"), ("mumbai", "Asia/Kolkata", "city"),
    ("india", "Asia/Kolkata", "city"), ("kolkata", "Asia/Kolkata", "city"),
    ("buenos aires", "America/Argentina/Buenos_Aires", "city"),
    ("indianapolis", "America/Indiana/Indianapolis", "city"),
    ("EST", "America/New_York", "city"), ("pst", "America/Los_Angeles", "city"),
    ("+3", "UTC+03:00", "offset"), ("-5", "UTC-05:00", "offset"), ("+03", "UTC+03:00", "offset"),
    ("UTC+5:30", "UTC+05:30", "offset"), ("utc +5:30", "UTC+05:30", "offset"),
    ("+0530", "UTC+05:30", "offset"), ("+5.45", "UTC+05:45", "offset"),
    ("GMT-3", "UTC-03:00", "offset"), ("gmt+14", "UTC+14:00", "offset"),
    ("UTC-12", "UTC-12:00", "offset"), ("\u22123", "UTC-03:00", "offset"),
    ("utc", "UTC", "offset"), ("GMT", "UTC", "offset"), ("Z", "UTC", "offset"),
    ("+0", "UTC", "offset"), ("UTC+0", "UTC", "offset"), ("Etc/UTC", "UTC", "offset"),
])
def test_accepted(text, stored, kind):
    assert parse_timezone(text) == ZoneChoice(stored, kind)


@pytest.mark.parametrize("text,suggested", [
    ("berlim", "Europe/Berlin"), ("europe/berln", "Europe/Berlin"),
    ("new yrok", "America/New_York"), ("Amercia/Chicago", "America/Chicago"),
    ("singapur", "Asia/Singapore"), ("tokio", "Asia/Tokyo"),
])
def test_typos_get_close_matches(text, suggested):
    with pytest.raises(TimezoneError) as info:
        parse_timezone(text)
    assert info.value.suggestions[0] == suggested
    assert len(info.value.suggestions) <= 3
    assert f"Did you mean {suggested}" in str(info.value)


@pytest.mark.parametrize("text,says", [
    ("", "No timezone given"), ("   ", "No timezone given"),
    ("xyzzy", "I don't know that timezone. Write a city"), ("+15", "from UTC-12 to UTC+14"),
    ("-13", "from UTC-12 to UTC+14"), ("+14:15", "from UTC-12 to UTC+14"),
    ("+5:20", "whole hours or :15, :30, :45"), ("+5:75", "whole hours or :15"),
    ("a" * 65, "too long"), ("<b>Berlin</b>", "I don't know"), ("Berlin; DROP TABLE", "I don't"),
])
def test_refused_with_what_is_accepted(text, says):
    with pytest.raises(TimezoneError, match=re.escape(says)) as info:
        parse_timezone(text)
    assert "an offset from UTC (+3, UTC-5, UTC+5:30)" in str(info.value)


def test_every_shortcut_is_a_real_zone():
    zones = available_timezones()
    assert {zone for zone in SHORTCUTS.values()} <= zones
    assert len(SHORTCUTS) >= 40


@pytest.mark.parametrize("stored,offset,name", [
    ("UTC", 0, "UTC"), ("UTC+05:30", 19800, "UTC+5:30"), ("UTC-03:00", -10800, "UTC-3"),
    ("UTC+14:00", 50400, "UTC+14"), (None, 0, "UTC"), ("", 0, "UTC"),
    ("Nowhere/Else", 0, "UTC"), ("../../etc/passwd", 0, "UTC"),
])
def test_tz_of_fixed_and_fallback(stored, offset, name):
    tz = tz_of(stored)
    moment = datetime(2026, 7, 1, tzinfo=timezone.utc)
    assert tz.utcoffset(moment) == timedelta(seconds=offset)
    assert zone_label(tz, moment) == name


def test_tz_of_reads_every_stored_choice_back():
    for text in ("berlin", "NYC", "+5:30", "utc", "CET", "Etc/GMT-3"):
        choice = parse_timezone(text)
        assert tz_of(choice.stored) is choice.tz or tz_of(choice.stored) == choice.tz
    assert tz_of("Europe/Berlin") == BERLIN
    assert parse_timezone("+3").fixed and not parse_timezone("berlin").fixed


@pytest.mark.parametrize("zone,ts,clock,label", [
    # Europe/Berlin, spring forward: 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
    (BERLIN, utc(2026, 3, 29, 0, 59), "01:59", "CET"),
    (BERLIN, utc(2026, 3, 29, 1, 0), "03:00", "CEST"),
    # Europe/Berlin, fall back: 03:00 CEST goes back to 02:00 CET at 01:00 UTC.
    (BERLIN, utc(2026, 10, 25, 0, 30), "02:30", "CEST"),
    (BERLIN, utc(2026, 10, 25, 1, 30), "02:30", "CET"),
    # America/New_York: 02:00 EST → 03:00 EDT at 07:00 UTC; 02:00 EDT → 01:00 EST at 06:00 UTC.
    (NEW_YORK, utc(2026, 3, 8, 6, 59), "01:59", "EST"),
    (NEW_YORK, utc(2026, 3, 8, 7, 0), "03:00", "EDT"),
    (NEW_YORK, utc(2026, 11, 1, 5, 30), "01:30", "EDT"),
    (NEW_YORK, utc(2026, 11, 1, 6, 30), "01:30", "EST"),
    (ZoneInfo("Europe/Istanbul"), utc(2026, 7, 1, 12), "15:00", "UTC+3"),
    (ZoneInfo("Asia/Kolkata"), utc(2026, 7, 1, 12), "17:30", "IST"),
    (ZoneInfo("Etc/GMT-3"), utc(2026, 7, 1, 12), "15:00", "UTC+3"),
    (ZoneInfo("UTC"), utc(2026, 7, 1, 12), "12:00", "UTC"),
    (tz_of("UTC+05:30"), utc(2026, 7, 1, 12), "17:30", "UTC+5:30"),
])
def test_dst_edges(zone, ts, clock, label):
    assert format_time(ts, zone, now=ts) == clock
    assert zone_label(zone, ts) == label


NOW = utc(2026, 1, 5, 11, 0)     # Monday 5 Jan 2026, 12:00 in Berlin


@pytest.mark.parametrize("ts,text", [
    (utc(2026, 1, 5, 13, 5), "14:05"), (utc(2026, 1, 4, 23, 0), "00:00"),
    (utc(2026, 1, 5, 22, 59), "23:59"), (utc(2026, 1, 5, 23, 0), "Tue 00:00"),
    (utc(2026, 1, 4, 13, 5), "Sun 14:05"), (utc(2025, 12, 30, 13, 5), "Tue 14:05"),
    (utc(2026, 1, 11, 13, 5), "Sun 14:05"), (utc(2025, 12, 29, 13, 5), "29 Dec 2025 14:05"),
    (utc(2026, 1, 12, 13, 5), "12 Jan 14:05"), (utc(2026, 3, 3, 13, 5), "3 Mar 14:05"),
    (utc(2027, 1, 3, 13, 5), "3 Jan 2027 14:05"), (utc(2026, 7, 14, 6, 5), "14 Jul 08:05"),
])
def test_format_time_relative_to_now(ts, text):
    assert format_time(ts, BERLIN, NOW) == text


def test_today_is_the_zone_s_today():
    ts, now = utc(2026, 1, 5, 23, 30), utc(2026, 1, 6, 1, 0)
    assert format_time(ts, ZoneInfo("Asia/Tokyo"), now) == "08:30"     # both 6 Jan in Tokyo
    assert format_time(ts, timezone.utc, now) == "Mon 23:30"
    assert format_time(datetime.fromtimestamp(ts, timezone.utc), NEW_YORK,
                       datetime.fromtimestamp(now, timezone.utc)) == "18:30"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 1), BERLIN, NOW)


@pytest.mark.parametrize("seconds,text", [(0, "UTC"), (3600, "UTC+1"), (-34200, "UTC-9:30"),
                                          (20700, "UTC+5:45"), (-43200, "UTC-12")])
def test_format_offset(seconds, text):
    assert format_offset(seconds) == text


@given(st.text(max_size=70))
def test_arbitrary_text_gives_a_zone_or_its_own_error(text):
    try:
        choice = parse_timezone(text)
    except TimezoneError:
        return
    assert tz_of(choice.stored) is not None
    assert choice.stored == "UTC" or choice.stored.startswith("UTC") or "/" in choice.stored \
        or choice.stored in available_timezones()


@given(st.integers(min_value=-12 * 4, max_value=14 * 4))
def test_offsets_round_trip(quarters):
    minutes = quarters * 15
    sign = "-" if minutes < 0 else "+"
    text = f"UTC{sign}{abs(minutes) // 60}:{abs(minutes) % 60:02d}"
    tz = parse_timezone(text).tz
    assert tz.utcoffset(None) == timedelta(minutes=minutes)
