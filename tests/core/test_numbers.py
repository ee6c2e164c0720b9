"""Reading numbers the way traders type them (SPEC §6)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

from core.numbers import Ambiguous, NumberError, accepted_forms, parse_number, plain


@pytest.mark.parametrize("text,value", [
    ("3.5", 3.5), ("3,5", 3.5), ("0,05", 0.05), ("-0,05", -0.05), ("0.005", 0.005),
    ("0,500", 0.5), ("1,50", 1.5), ("1,5000", 1.5), ("1234,567", 1234.567), (".5", 0.5),
    (",5", 0.5), ("5.", 5.0), ("42", 42.0), ("007", 7.0), ("0", 0.0), ("-0", 0.0),
    ("50,000,000", 5e7), ("50.000.000", 5e7), ("2,500,000", 2.5e6), ("1,234.5", 1234.5),
    ("1.234,5", 1234.5), ("1,234,567.89", 1234567.89), ("1.234.567,89", 1234567.89),
    ("50 000 000", 5e7), ("50\u00a0000", 5e4), ("50\u202f000", 5e4), ("1_000_000", 1e6),
    ("1'000'000", 1e6), ("1 000,5", 1000.5), ("1 000.25", 1000.25),
    ("+3", 3.0), ("-3", -3.0), ("\u22123.5", -3.5), ("\u20130,5", -0.5), ("- 2", -2.0),
    ("  7.25  ", 7.25), ("$4000", 4000.0), ("-$5", -5.0), ("5e7", 5e7), ("1.5e-3", 0.0015),
    ("\uff13.\uff15", 3.5),   # full-width digits, as some keyboards send them
])
def test_plain_numbers(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text,value", [
    ("4k", 4e3), ("4K", 4e3), ("50M", 5e7), ("50m", 5e7), ("1.5B", 1.5e9), ("1.5b", 1.5e9),
    ("2,5M", 2.5e6), ("0,5k", 500.0), ("50 M", 5e7), ("-20M", -2e7), ("$50M", 5e7),
    ("1,250,000k", 1.25e9),
])
def test_suffixes_when_allowed(text, value):
    assert parse_number(text, suffixes=True) == value


@pytest.mark.parametrize("text,value", [("2.5%", 2.5), ("2,5 %", 2.5), ("-0.03%", -0.03),
                                        ("65", 65.0)])
def test_percent_when_expected(text, value):
    assert parse_number(text, percent=True) == value


@pytest.mark.parametrize("text,decimal,grouped", [
    ("1,500", 1.5, 1500.0), ("1.500", 1.5, 1500.0), ("12,345", 12.345, 12345.0),
    ("999,999", 999.999, 999999.0), ("-1,500", -1.5, -1500.0), ("$4,000", 4.0, 4000.0),
])
def test_two_readings_are_ambiguous(text, decimal, grouped):
    result = parse_number(text)
    assert result == Ambiguous(text, decimal, grouped)
    assert result.readings == (decimal, grouped)


def test_ambiguous_with_a_suffix_scales_both_readings():
    assert parse_number("1,500k", suffixes=True).readings == (1500.0, 1.5e6)


@pytest.mark.parametrize("text,says", [
    ("", "No number given"), ("   ", "No number given"), ("abc", "Not a number"),
    ("nan", "Not a number"), ("NaN", "Not a number"), ("inf", "Not a number"),
    ("-inf", "Not a number"), ("infinity", "Not a number"), ("1e400", "Too large"),
    ("12,34,567", "grouped by three"), ("1,2.3", "grouped by three"), ("1.2.3", "grouped by three"),
    ("0,000,001", "grouped by three"), ("1 5", "grouped by three"), ("10_00", "grouped by three"),
    ("1,,5", "Two separators"), ("1,000 000", "cannot be grouped"),
    ("1_000 000", "two different ways"), ("1,000.000,5", "Not a number"), (".", "Not a number"),
    ("-", "No digits"), ("+-5", "Not a number"), ("--5", "Not a number"), ("5-", "Not a number"),
    ("0x10", "Not a number"), ("1/2", "Not a number"), ("\u0663", "Not a number"),
    ("5M", "suffix only fits amounts in USD"), ("2%", "% sign does not fit"),
    ("1" * 41, "Too long"), ("k", "Not a number"), ("1,5e3", "Not a number"),
])
def test_refused(text, says):
    with pytest.raises(NumberError, match=says) as info:
        parse_number(text)
    assert "Write a number like 3.5, 3,5, 50,000,000" in str(info.value)


def test_the_error_lists_the_forms_of_the_options():
    with pytest.raises(NumberError) as info:
        parse_number("lots", suffixes=True, percent=True)
    assert info.value.reason == "not a number"
    assert info.value.accepted == accepted_forms(suffixes=True, percent=True)
    assert "50M" in info.value.accepted and "2.5%" in info.value.accepted
    assert "50M" not in accepted_forms()


@given(st.text(max_size=50))
def test_arbitrary_text_gives_a_number_or_its_own_error(text):
    try:
        result = parse_number(text, suffixes=True, percent=True)
    except NumberError:
        return
    values = result.readings if isinstance(result, Ambiguous) else (result,)
    assert all(isinstance(v, float) and math.isfinite(v) for v in values)


@given(st.decimals(min_value=-10**12, max_value=10**12, places=2, allow_nan=False))
def test_formatted_numbers_read_back(value):
    text = f"{value:,.2f}"              # 1,234,567.89: both separators, never ambiguous
    assert parse_number(text) == pytest.approx(float(value))
    assert parse_number(text.replace(",", " ").replace(".", ",")) == pytest.approx(float(value))


@pytest.mark.parametrize("value,text", [(4000.0, "4000"), (1.5, "1.5"), (1.125, "1.1250"),
                                        (-12.345, "-12.3450"), (0.125, "0.125"), (1e-05, "1e-05")])
def test_plain_forms_are_never_ambiguous(value, text):
    assert plain(value) == text
    assert parse_number(text) == value


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_plain_reads_back_exactly(value):
    assert parse_number(plain(value)) == value + 0.0
