"""Shared test helpers: recorded CoinGlass bodies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RECORDED = Path(__file__).parent / "fixtures" / "coinglass-recorded"


def recorded(name: str) -> dict:
    """One recorded CoinGlass body, read as it is (file name without .json)."""
    return json.loads((RECORDED / f"{name}.json").read_text())


@pytest.fixture
def recorded_body():
    return lambda name: recorded(name)["body"]
