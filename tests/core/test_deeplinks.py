"""One-tap start links: /start ETH, /start ETH_SOL, /start eth-sol-btc."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from core.deeplinks import StartPayloadError, parse_start_payload, start_payload


@pytest.mark.parametrize("payload,coins", [
    ("ETH", ["ETH"]), ("ETH_SOL", ["ETH", "SOL"]), ("eth-sol-btc", ["ETH", "SOL", "BTC"]),
    ("eth_sol-btc", ["ETH", "SOL", "BTC"]), ("ETH__SOL", ["ETH", "SOL"]), ("_ETH_", ["ETH"]),
    ("ETH_eth", ["ETH"]), ("ETHUSDT", ["ETH"]), ("1000PEPE", ["1000PEPE"]), ("", []),
    ("  ", []), ("_", []), ("A" * 20, ["A" * 20]),
    ("_".join(["BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "HYPE", "SUI", "ADA", "TON"]),
     ["BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "HYPE", "SUI", "ADA", "TON"]),
])
def test_payloads(payload, coins):
    assert parse_start_payload(payload) == coins


@pytest.mark.parametrize("payload,says", [
    ("ETH SOL", "not a list of coins"), ("ETH,SOL", "not a list of coins"),
    ("ETH.SOL", "not a list of coins"), ("ЕТН", "not a list of coins"), ("E" * 65, "not a list"),
    ("$ETH", "not a list of coins"), ("A" * 21, "not a coin symbol"),
    ("_".join("ABCDEFGHIJKLMNOPQRSTU"), "at most 20 coins"),
])
def test_refused(payload, says):
    with pytest.raises(StartPayloadError, match=says):
        parse_start_payload(payload)


def test_building_a_payload_reads_back():
    assert start_payload(["eth", "SOL"]) == "ETH_SOL"
    assert parse_start_payload(start_payload(["BTC", "ETH"])) == ["BTC", "ETH"]
    with pytest.raises(ValueError):
        start_payload(["A" * 20] * 4)


@given(st.text(max_size=80))
def test_arbitrary_payloads_give_coins_or_its_own_error(payload):
    try:
        coins = parse_start_payload(payload)
    except StartPayloadError:
        return
    assert all(c.isascii() and c.isalnum() and c.isupper() or c.isdigit() for c in coins)
