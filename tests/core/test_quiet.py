"""Quiet hours and the daily digest clock, across midnight and daylight-saving changes."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from core.quiet import (
    ClockError, Delivery, Due, QuietError, QuietHours, QuietMode, delivery, digest_due,
    is_quiet, last_digest_moment, local_moment, next_digest_at, parse_clock, parse_digest,
    parse_quiet, quiet_ends_at,
)
from core.signals.model import Level
from core.timezones import tz_of

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOLD, SILENT, ALL = QuietMode.HOLD, QuietMode.SILENT, QuietMode.ALL
NIGHT = QuietHours(time(23), time(7))


def utc(*args) -> float:
    return datetime(*args, tzinfo=timezone.utc).timestamp()


def local(tz, *args) -> float:
    return datetime(*args, tzinfo=tz).timestamp()


# --- parse_clock -------------------------------------------------------------------------

@pytest.mark.parametrize("text,at", [
    ("8", time(8)), ("8:00", time(8)), ("08:00", time(8)), ("08.00", time(8)),
    ("8am", time(8)), ("8 am", time(8)), ("8AM", time(8)), ("8 pm", time(20)), ("8pm", time(20)),
    ("8:30pm", time(20, 30)), ("8:30 p.m.", time(20, 30)), ("12am", time(0)),
    ("12pm", time(12)), ("12:15 a.m.", time(0, 15)), ("20h", time(20)), ("20 h", time(20)),
    ("20h30", time(20, 30)), ("0800", time(8)), ("2359", time(23, 59)), ("0", time(0)),
    ("00:00", time(0)), ("23:59", time(23, 59)), (" 7:05 ", time(7, 5)),
])
def test_clock_accepted(text, at):
    assert parse_clock(text) == at


@pytest.mark.parametrize("text,says", [
    ("25:00", "Hours go up to 23"), ("24:00", "Midnight is 00:00"), ("24", "Midnight is 00:00"),
    ("noon", "not a time of day"), ("midnight", "not a time of day"),
    ("8:60", "Minutes go up to 59"), ("13pm", "1 to 12"), ("0am", "1 to 12"),
    ("", "No time given"), ("8:5", "not a time of day"), ("800", "not a time of day"),
    ("-1", "not a time of day"), ("8.5", "not a time of day"), ("tomorrow", "not a time of day"),
    ("8:00:00", "not a time of day"), ("1" * 20, "not a time of day"),
])
def test_clock_refused_with_the_accepted_forms(text, says):
    with pytest.raises(ClockError, match=says) as info:
        parse_clock(text)
    assert "08:00, 8, 8:30, 08.00, 8am, 8 pm or 20h" in str(info.value)


def test_digest_setting():
    assert parse_digest("off") is None and parse_digest(" OFF ") is None
    assert parse_digest("8am") == time(8)
    with pytest.raises(ClockError):
        parse_digest("sometimes")


# --- parse_quiet -------------------------------------------------------------------------

@pytest.mark.parametrize("text,quiet", [
    ("23:00-07:00", QuietHours(time(23), time(7), HOLD)),
    ("23-7", QuietHours(time(23), time(7), HOLD)),
    ("22:30–06:15", QuietHours(time(22, 30), time(6, 15), HOLD)),
    ("22:30 — 06:15", QuietHours(time(22, 30), time(6, 15), HOLD)),
    ("23:00 - 07:00 silent", QuietHours(time(23), time(7), SILENT)),
    ("23-7 all", QuietHours(time(23), time(7), ALL)),
    ("23-7 HOLD", QuietHours(time(23), time(7), HOLD)),
    ("silent 23-7", QuietHours(time(23), time(7), SILENT)),
    ("11pm-7am", QuietHours(time(23), time(7), HOLD)),
    ("11 pm - 7 am all", QuietHours(time(23), time(7), ALL)),
    ("23 to 7", QuietHours(time(23), time(7), HOLD)),
    ("22.30-6.15", QuietHours(time(22, 30), time(6, 15), HOLD)),
    ("9-17", QuietHours(time(9), time(17), HOLD)),
    ("0-6", QuietHours(time(0), time(6), HOLD)),
    ("off", None), ("OFF", None), (" off ", None),
])
def test_quiet_accepted(text, quiet):
    assert parse_quiet(text) == quiet


@pytest.mark.parametrize("text,says", [
    ("", "No quiet hours given"), ("23:00", "need a start and an end. Write"),
    ("23-23", "differ"), ("23:00-23:00 hold", "differ"), ("7:00-07:00", "differ"),
    ("25-7", "can't read those times"), ("noon-7", "can't read those times"),
    ("23-7 loud", "can't read those times"), ("23-7-9", "need a start and an end"),
    ("hold", "need a start and an end"), ("a" * 61, "too long"),
    ("23:00 07:00", "need a start and an end"),
])
def test_quiet_refused_with_the_accepted_forms(text, says):
    with pytest.raises(QuietError, match=says) as info:
        parse_quiet(text)
    assert "23:00-07:00, 23-7 or 22:30–06:15" in str(info.value)
    assert "hold" in str(info.value) and "silent" in str(info.value) and "off" in str(info.value)


def test_equal_start_and_end_refused_when_built_directly():
    with pytest.raises(QuietError):
        QuietHours(time(3), time(3))


@pytest.mark.parametrize("quiet", [NIGHT, QuietHours(time(22, 30), time(6, 15), SILENT),
                                   QuietHours(time(9), time(17), ALL)])
def test_text_reads_back(quiet):
    assert parse_quiet(quiet.text) == quiet
    assert NIGHT.text == "23:00-07:00 hold"


# --- is_quiet and quiet_ends_at ----------------------------------------------------------

@pytest.mark.parametrize("quiet,clock,expected", [
    (NIGHT, (22, 59), False), (NIGHT, (23, 0), True), (NIGHT, (0, 0), True), (NIGHT, (3, 0), True),
    (NIGHT, (6, 59), True), (NIGHT, (7, 0), False), (NIGHT, (12, 0), False),
    (QuietHours(time(9), time(17)), (8, 59), False), (QuietHours(time(9), time(17)), (9, 0), True),
    (QuietHours(time(9), time(17)), (16, 59), True),
    (QuietHours(time(9), time(17)), (17, 0), False),
    (QuietHours(time(0), time(6)), (0, 0), True), (QuietHours(time(0), time(6)), (23, 59), False),
])
def test_is_quiet_on_an_ordinary_day(quiet, clock, expected):
    assert is_quiet(quiet, BERLIN, local(BERLIN, 2026, 1, 14, *clock)) is expected


def test_no_quiet_hours_is_never_quiet():
    assert not is_quiet(None, BERLIN, utc(2026, 1, 1, 2))
    assert delivery(None, BERLIN, utc(2026, 1, 1, 2), Level.LOW) == Delivery.SEND


@pytest.mark.parametrize("quiet,tz,ts,end", [
    # an ordinary night, and from outside the window the next window's end
    (NIGHT, BERLIN, local(BERLIN, 2026, 1, 14, 23, 30), local(BERLIN, 2026, 1, 15, 7)),
    (NIGHT, BERLIN, local(BERLIN, 2026, 1, 15, 3), local(BERLIN, 2026, 1, 15, 7)),
    (NIGHT, BERLIN, local(BERLIN, 2026, 1, 15, 12), local(BERLIN, 2026, 1, 16, 7)),
    # Berlin spring forward (29 Mar 2026, 02:00 CET → 03:00 CEST at 01:00 UTC):
    # a window ending at 02:30 ends when the clock jumps past it.
    (QuietHours(time(23), time(2, 30)), BERLIN, utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 0)),
    (QuietHours(time(1), time(2, 30)), BERLIN, utc(2026, 3, 29, 0, 10), utc(2026, 3, 29, 1, 0)),
    # 23:00-07:00 that night lasts 7 hours: 22:00 UTC to 05:00 UTC (07:00 CEST)
    (NIGHT, BERLIN, utc(2026, 3, 28, 22, 0), utc(2026, 3, 29, 5, 0)),
    # Berlin fall back (25 Oct 2026, 03:00 CEST → 02:00 CET at 01:00 UTC): 02:30 is passed
    # first at 00:30 UTC; 23:00-07:00 lasts 9 hours, to 06:00 UTC (07:00 CET).
    (QuietHours(time(23), time(2, 30)), BERLIN, utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30)),
    (NIGHT, BERLIN, utc(2026, 10, 24, 21, 0), utc(2026, 10, 25, 6, 0)),
    # New York spring forward (8 Mar 2026, 07:00 UTC) and fall back (1 Nov 2026, 06:00 UTC)
    (QuietHours(time(22), time(6)), NEW_YORK, utc(2026, 3, 8, 3, 0), utc(2026, 3, 8, 10, 0)),
    (QuietHours(time(22), time(2, 30)), NEW_YORK, utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 0)),
    (QuietHours(time(22), time(6)), NEW_YORK, utc(2026, 11, 1, 2, 0), utc(2026, 11, 1, 11, 0)),
    (QuietHours(time(0), time(1, 30)), NEW_YORK, utc(2026, 11, 1, 4, 0), utc(2026, 11, 1, 5, 30)),
    # fixed offsets have no DST
    (NIGHT, tz_of("UTC+05:30"), utc(2026, 3, 29, 18, 0), utc(2026, 3, 30, 1, 30)),
])
def test_quiet_ends_at(quiet, tz, ts, end):
    assert quiet_ends_at(quiet, tz, ts) == end
    assert not is_quiet(quiet, tz, end)
    assert is_quiet(quiet, tz, end - 1)


def test_a_repeated_hour_after_the_end_is_not_quiet_again():
    # 00:00-01:30 in New York on 1 Nov 2026 ends at 01:30 EDT; when the clock falls back and
    # shows 01:00-01:59 again (EST) the window is over, not restarted.
    quiet = QuietHours(time(0), time(1, 30))
    assert is_quiet(quiet, NEW_YORK, utc(2026, 11, 1, 5, 29))          # 01:29 EDT
    assert not is_quiet(quiet, NEW_YORK, utc(2026, 11, 1, 6, 15))      # 01:15 EST


def test_a_window_inside_the_spring_forward_gap_is_empty_that_night():
    quiet = QuietHours(time(2), time(2, 30))
    night = [utc(2026, 3, 29, 0, 0) + 60 * n for n in range(120)]
    assert not any(is_quiet(quiet, BERLIN, ts) for ts in night)
    assert quiet_ends_at(quiet, BERLIN, utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 30, 0, 30)
    assert is_quiet(quiet, BERLIN, utc(2026, 3, 30, 0, 15))            # 02:15 CEST next night


ZONES = [BERLIN, NEW_YORK, ZoneInfo("Australia/Sydney"), ZoneInfo("Australia/Lord_Howe"),
         ZoneInfo("America/Havana"), ZoneInfo("America/Santiago"), ZoneInfo("Asia/Kolkata"),
         timezone.utc, tz_of("UTC-03:30")]


def transitions(tz, year=2026) -> list[float]:
    """The moments ``tz`` changes its offset in ``year`` (found hour by hour)."""
    found = []
    ts = utc(year, 1, 1)
    while ts < utc(year + 1, 1, 1):
        if datetime.fromtimestamp(ts, tz).utcoffset() != \
                datetime.fromtimestamp(ts + 3600, tz).utcoffset():
            found.append(ts + 3600)
        ts += 3600
    return found


# Moments near every offset change of the zones above: where DST bugs live.
NEAR_CHANGES = [(tz, t) for tz in ZONES for t in transitions(tz)]
clocks = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))


def test_the_zones_have_changes_to_test():
    assert transitions(BERLIN) == [utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)]
    assert transitions(NEW_YORK) == [utc(2026, 3, 8, 7), utc(2026, 11, 1, 6)]
    assert len(transitions(ZoneInfo("Australia/Lord_Howe"))) == 2
    assert len(NEAR_CHANGES) >= 12


@settings(max_examples=400, deadline=None)
@given(start=clocks, end=clocks, mode=st.sampled_from(list(QuietMode)),
       near=st.sampled_from(NEAR_CHANGES),
       offset=st.floats(min_value=-36 * 3600, max_value=36 * 3600))
def test_quiet_ends_at_agrees_with_is_quiet(start, end, mode, near, offset):
    if (start.hour, start.minute) == (end.hour, end.minute):
        return
    tz, change = near
    ts = change + offset
    quiet = QuietHours(start, end, mode)
    ends = quiet_ends_at(quiet, tz, ts)
    assert ends > ts
    assert not is_quiet(quiet, tz, ends)
    assert is_quiet(quiet, tz, max(ts, ends - 0.5))
    if is_quiet(quiet, tz, ts):
        assert ends - ts <= 2 * 86400    # touching windows (both ends in a skipped hour) chain


@settings(max_examples=300, deadline=None)
@given(near=st.sampled_from(NEAR_CHANGES), minutes=st.integers(-120, 120))
def test_local_moment_is_the_first_moment_the_clock_shows_the_time(near, minutes):
    tz, change = near
    # wall-clock times around the change, as the clock read them just before it: this
    # walks into the skipped hour of a spring-forward night and the repeated one of a fall-back
    wall = (datetime.fromtimestamp(change - 60, tz).replace(tzinfo=None)
            + timedelta(minutes=1 + minutes)).replace(second=0, microsecond=0)
    moment = local_moment(wall.date(), wall.time(), tz)
    assert datetime.fromtimestamp(moment, tz).replace(tzinfo=None) >= wall
    assert datetime.fromtimestamp(moment - 1, tz).replace(tzinfo=None) < wall


@pytest.mark.parametrize("quiet,level,expected", [
    (QuietHours(time(23), time(7), HOLD), Level.HIGH, Delivery.SEND),
    (QuietHours(time(23), time(7), HOLD), Level.MEDIUM, Delivery.HOLD),
    (QuietHours(time(23), time(7), HOLD), Level.LOW, Delivery.HOLD),
    (QuietHours(time(23), time(7), SILENT), Level.HIGH, Delivery.SILENT),
    (QuietHours(time(23), time(7), SILENT), Level.LOW, Delivery.SILENT),
    (QuietHours(time(23), time(7), ALL), Level.HIGH, Delivery.HOLD),
    (QuietHours(time(23), time(7), ALL), Level.MEDIUM, Delivery.HOLD),
    (QuietHours(time(9), time(17), ALL), Level.HIGH, Delivery.SEND),     # not quiet at 02:00
])
def test_delivery_by_mode_and_level(quiet, level, expected):
    assert delivery(quiet, BERLIN, local(BERLIN, 2026, 1, 15, 2), level) == expected


# --- the digest --------------------------------------------------------------------------

@pytest.mark.parametrize("at,tz,after,expected", [
    (time(8), BERLIN, utc(2026, 1, 5, 6, 0), utc(2026, 1, 5, 7, 0)),
    (time(8), BERLIN, utc(2026, 1, 5, 7, 0), utc(2026, 1, 6, 7, 0)),      # strictly after
    (time(8), BERLIN, utc(2026, 3, 28, 7, 0), utc(2026, 3, 29, 6, 0)),    # 08:00 CEST
    (time(8), BERLIN, utc(2026, 10, 24, 6, 0), utc(2026, 10, 25, 7, 0)),  # 08:00 CET
    (time(2, 30), BERLIN, utc(2026, 3, 28, 12), utc(2026, 3, 29, 1, 0)),  # gap: at the jump
    (time(2, 30), BERLIN, utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)),
    (time(2, 30), BERLIN, utc(2026, 10, 24, 12), utc(2026, 10, 25, 0, 30)),  # first 02:30
    (time(2, 30), BERLIN, utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)),  # not the repeat
    (time(8), NEW_YORK, utc(2026, 3, 7, 14), utc(2026, 3, 8, 12, 0)),
    (time(1, 30), NEW_YORK, utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)),
    (time(0), tz_of("UTC+05:30"), utc(2026, 1, 1, 0), utc(2026, 1, 1, 18, 30)),
])
def test_next_digest_at(at, tz, after, expected):
    assert next_digest_at(at, tz, after) == expected


MOMENT = utc(2026, 1, 5, 7, 0)         # 08:00 in Berlin
DAY = 86400.0


@pytest.mark.parametrize("last_sent,now,due", [
    (None, MOMENT, Due.SEND), (None, MOMENT - 1, Due.SKIP), (None, MOMENT + 6 * 3600, Due.SEND),
    (None, MOMENT + 6 * 3600 + 1, Due.SKIP), (MOMENT + 5, MOMENT + 10, Due.WAIT),
    (MOMENT, MOMENT + 3600, Due.WAIT), (MOMENT - DAY + 60, MOMENT + 60, Due.SEND),
    (MOMENT - DAY + 60, MOMENT - 60, Due.WAIT), (MOMENT - 3 * DAY, MOMENT + 3600, Due.SEND),
    (MOMENT - DAY, MOMENT + 7 * 3600, Due.SKIP),
    (MOMENT + 2 * 3600, MOMENT + 3 * 3600, Due.WAIT),    # switched on at 10:00: tomorrow
])
def test_digest_due(last_sent, now, due):
    assert digest_due(time(8), BERLIN, last_sent, now) == due
    assert digest_due(time(8), BERLIN, last_sent, now) == due.value


def test_max_late_is_a_parameter():
    assert digest_due(time(8), BERLIN, None, MOMENT + 3600, max_late=1800) == Due.SKIP
    assert digest_due(time(8), BERLIN, None, MOMENT + 3600, max_late=7200) == "send"


def run_days(at, tz, start, days, step=300.0, down=()):
    """Poll digest_due every ``step`` seconds; return the moments it was sent."""
    sent, last = [], None
    now = start
    while now < start + days * DAY:
        if not any(a <= now < b for a, b in down) and digest_due(at, tz, last, now) == Due.SEND:
            sent.append(now)
            last = now
        now += step
    return sent


@pytest.mark.parametrize("at,tz,start", [
    (time(8), BERLIN, utc(2026, 3, 25)), (time(2, 30), BERLIN, utc(2026, 3, 25)),
    (time(2, 30), BERLIN, utc(2026, 10, 22)), (time(2, 0), NEW_YORK, utc(2026, 3, 5)),
    (time(1, 30), NEW_YORK, utc(2026, 10, 29)), (time(0, 0), ZoneInfo("America/Havana"),
                                                 utc(2026, 3, 5)),
])
def test_exactly_once_per_local_day_across_dst(at, tz, start):
    sent = run_days(at, tz, start, days=10)
    dates = [datetime.fromtimestamp(ts, tz).date() for ts in sent]
    assert len(sent) in (9, 10)
    assert dates == [dates[0] + timedelta(days=n) for n in range(len(dates))]   # one a day
    for ts in sent:                   # each one as soon as the poll after its moment came
        moment = last_digest_moment(at, tz, ts)
        assert 0 <= ts - moment < 300


def test_spring_forward_digest_in_the_gap_goes_at_the_jump():
    sent = run_days(time(2, 30), BERLIN, utc(2026, 3, 28, 12), days=2, step=60)
    assert sent[0] == utc(2026, 3, 29, 1, 0)          # 03:00 CEST, when 02:30 was skipped
    assert sent[1] == utc(2026, 3, 30, 0, 30)         # 02:30 CEST


def test_a_restart_after_the_window_skips_that_day_and_sends_the_next():
    down = [(MOMENT - 3600, MOMENT + 7 * 3600)]       # down from 07:00 to 15:00 local
    sent = run_days(time(8), BERLIN, MOMENT - 2 * 3600, days=2, down=down)
    assert sent == [MOMENT + DAY]


def test_a_restart_inside_the_window_sends_late_once():
    down = [(MOMENT - 3600, MOMENT + 2 * 3600)]
    sent = run_days(time(8), BERLIN, MOMENT - 2 * 3600, days=1, down=down)
    assert sent == [MOMENT + 2 * 3600]


def test_time_zone_change_uses_the_new_zone_s_clock():
    at = time(8)
    assert next_digest_at(at, ZoneInfo("Asia/Tokyo"), MOMENT) == utc(2026, 1, 5, 23, 0)
    assert digest_due(at, ZoneInfo("Asia/Tokyo"), MOMENT, utc(2026, 1, 5, 23, 0)) == Due.SEND


def test_timedelta_free_api_uses_seconds():
    assert isinstance(next_digest_at(time(8), BERLIN, MOMENT), float)
    assert timedelta(seconds=next_digest_at(time(8), BERLIN, MOMENT) - MOMENT) == timedelta(days=1)
