"""Reading /position as traders type it: every form, every refusal, ambiguity settled by price."""

from __future__ import annotations

import pytest

from core.numbers import Ambiguous
from core.position_input import (
    Close, Declare, ListAll, PositionInputError, Show, parse_position, resolve, resolve_all,
)


@pytest.mark.parametrize("text,expected", [
    ("", ListAll()),
    ("   ", ListAll()),
    ("ETH", Show("ETH")),
    ("eth close", Close("ETH")),
    ("$SOL forget", Close("SOL")),
    ("ETH long 3150", Declare("ETH", "long", 3150.0)),
    ("ETH LONG 3150.5", Declare("ETH", "long", 3150.5)),
    ("eth short 3150,5 stop 3200", Declare("ETH", "short", 3150.5, 3200.0)),
    ("ETH long 3150 stop 3080 tp 3300", Declare("ETH", "long", 3150.0, 3080.0, 3300.0)),
    ("ETH long 3150 tp 3300 sl 3080", Declare("ETH", "long", 3150.0, 3080.0, 3300.0)),
    ("btc short @95k sl=97k target 90000", Declare("BTC", "short", 95000.0, 97000.0, 90000.0)),
    ("BTC long at 94,500.5", Declare("BTC", "long", 94500.5)),
    ("ETHUSDT long $3150", Declare("ETH", "long", 3150.0)),
])
def test_forms_that_are_read(text, expected):
    assert parse_position(text) == expected


@pytest.mark.parametrize("text,says", [
    ("<b>", "is not a coin symbol"),
    ("ETH buy 3150", "The side must be long or short, not “buy”"),
    ("ETH long", "The entry price is missing"),
    ("ETH long stop 3000", "The entry price is missing"),
    ("ETH long abc", "The entry “abc” is not a price"),
    ("ETH long 3150 stop x", "The stop “x” is not a price"),
    ("ETH long 3150 tp 1e999", "The take-profit “1e999” is not a price"),
    ("ETH long 3150 stop", "The stop price is missing"),
    ("ETH long 3150 stop 3000 sl 3001", "The stop is given twice"),
    ("ETH long 3150 leverage 10", "I don't know “leverage” here"),
    ("ETH close now", "takes nothing after it"),
    ("ETH long " + "9" * 60, "is not a price"),
])
def test_refusals_say_what_is_wrong(text, says):
    with pytest.raises(PositionInputError) as caught:
        parse_position(text)
    assert says in str(caught.value)


def test_a_long_word_is_quoted_short():
    with pytest.raises(PositionInputError) as caught:
        parse_position("ETH " + "x" * 500)
    assert len(str(caught.value)) < 100


def test_number_errors_list_price_forms():
    with pytest.raises(PositionInputError) as caught:
        parse_position("ETH long 31.50.5,5")
    assert "Write prices like 3150" in str(caught.value)


def test_ambiguous_prices_stay_ambiguous_until_resolved():
    request = parse_position("ETH long 3,150 stop 3,080 tp 3300")
    assert [name for name, _ in request.ambiguous()] == ["entry", "stop"]
    settled = resolve_all(request, 3160.0)
    assert settled == Declare("ETH", "long", 3150.0, 3080.0, 3300.0)
    assert settled.ambiguous() == []


@pytest.mark.parametrize("reference,expected", [
    (3160.0, 3150.0),                 # ETH: only the grouped reading is near price
    (3.2, 3.15),                      # a coin at 3.2: the decimal reading
    (None, None),                     # no price known: still ambiguous
    (60.0, None),                     # neither reading within ×/÷ 3: still ambiguous
])
def test_resolve_against_the_price(reference, expected):
    value = Ambiguous("3,150", 3.15, 3150.0)
    got = resolve(value, reference)
    assert got == (value if expected is None else expected)


def test_resolve_leaves_plain_numbers_alone():
    assert resolve(3150.0, 10.0) == 3150.0 and resolve(None, 10.0) is None
