"""Reading coins users type, and suggesting close matches."""

from __future__ import annotations

import pytest

from core.coins import parse_coins, suggestions

SUPPORTED = ["BTC", "ETH", "SOL", "ETC", "XRP", "DOGE", "1000PEPE", "PEPE", "42"]


@pytest.mark.parametrize("text,coins", [
    ("ETH", ["ETH"]), ("eth sol", ["ETH", "SOL"]), ("$BTC,ETH", ["BTC", "ETH"]),
    ("  btc ,  btc;eth ", ["BTC", "ETH"]), ("ETHUSDT", ["ETH"]), ("#sol", ["SOL"]), ("42", ["42"]),
])
def test_parse(text, coins):
    assert parse_coins(text).coins == coins


@pytest.mark.parametrize("text", ["'; DROP TABLE users;--", "<b>x</b>", "ЕТН", "🚀", "a" * 50])
def test_malformed_tokens_are_reported(text):
    parsed = parse_coins(text)
    assert parsed.malformed
    assert all(c.isalnum() and c.isascii() for c in parsed.coins)


def test_suggestions():
    assert suggestions("ETHH", SUPPORTED)[0] == "ETH"
    assert suggestions("BITCOIN", SUPPORTED)[0] == "BTC"
    assert "PEPE" in suggestions("PEP", SUPPORTED)
    assert suggestions("ZZZZZZ", SUPPORTED) == []
