"""Durations users type for /pause and /mute."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from core.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize("text,seconds", [
    ("90m", 5400), ("1.5h", 5400), ("1,5h", 5400), ("2d", 172800), ("30 min", 1800),
    ("2 hours", 7200), ("1h30m", 5400), ("1h 30m", 5400), ("1 h 30 min", 5400), ("1h30", 5400),
    ("1H", 3600), ("45M", 2700), ("1 hour", 3600), ("1 day", 86400), ("3 days", 259200),
    ("1w", 604800), ("2 weeks", 1209600), ("90s", 90), ("60 seconds", 60), ("1m", 60),
    ("30d", 2592000), ("1d12h", 129600), ("2hrs", 7200), ("0.5d", 43200), ("  2h  ", 7200),
    ("1.25h", 4500), ("1d 2h 3m 4s", 93784),
])
def test_accepted(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text,says", [
    ("90", "needs a unit: 90m or 90h"), ("1.5", "needs a unit"), ("", "No duration given"),
    ("forever", "not a duration"), ("-5m", "not a duration"), ("2 months", "Unknown unit 'months'"),
    ("2y", "Unknown unit 'y'"), ("30m1h", "larger unit first"), ("1h1h", "larger unit first"),
    ("0m", "from 1m to 30d"), ("59s", "from 1m to 30d"), ("31d", "from 1m to 30d"),
    ("5w", "from 1m to 30d"), ("1h 30 40", "not a duration"), ("1.5.5h", "not a duration"),
    ("2h and 3m", "not a duration"), ("m", "not a duration"), ("1" * 41 + "m", "too long"),
])
def test_refused_with_the_accepted_forms(text, says):
    with pytest.raises(DurationError, match=says) as info:
        parse_duration(text)
    assert "30m, 1.5h, 2d or 1h30m" in str(info.value)


def test_a_bare_number_suggests_minutes():
    with pytest.raises(DurationError) as info:
        parse_duration("90")
    assert info.value.suggestion == "90m"
    with pytest.raises(DurationError) as info:
        parse_duration("2x")
    assert info.value.suggestion is None


def test_range_is_a_parameter():
    assert parse_duration("10s", minimum=10) == 10
    assert parse_duration("90d", maximum=90 * 86400) == 90 * 86400
    with pytest.raises(DurationError, match="from 5m to 1d"):
        parse_duration("2d", minimum=300, maximum=86400)


@pytest.mark.parametrize("seconds,text", [
    (60, "1m"), (5400, "1h 30m"), (2592000, "30d"), (45, "45s"), (93784, "1d 2h"), (0, "0m"),
])
def test_format(seconds, text):
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=29), st.integers(min_value=0, max_value=23),
       st.integers(min_value=0, max_value=59))
def test_formatted_durations_read_back(days, hours, minutes):
    seconds = days * 86400 + hours * 3600 + minutes * 60
    if seconds >= 60 and not (days and hours and minutes):    # two units at most: exact
        assert parse_duration(format_duration(seconds)) == seconds


@given(st.text(max_size=30))
def test_arbitrary_text_gives_seconds_or_its_own_error(text):
    try:
        seconds = parse_duration(text)
    except DurationError:
        return
    assert isinstance(seconds, int) and 60 <= seconds <= 30 * 86400
