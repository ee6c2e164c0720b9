"""OUTCOME_HORIZONS (SPEC §2): when alerts' outcomes are measured."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_default_is_one_four_and_twenty_four_hours():
    assert load_settings({}, env_file=None).outcome_horizons == (3600, 14400, 86400)


@pytest.mark.parametrize("text,seconds", [
    ("5s,10s", (5, 10)), ("1h, 4h, 24h", (3600, 14400, 86400)), ("30m", (1800,)),
    ("24h 1h", (3600, 86400)), ("7d", (604800,)),
])
def test_horizons_are_read_in_seconds(text, seconds):
    assert load_settings({"OUTCOME_HORIZONS": text}, env_file=None).outcome_horizons == seconds


@pytest.mark.parametrize("text", ["abc", "1h,x", "0s", "-5s", "1y", "8d", "1h,,4q"])
def test_a_malformed_value_is_one_line_naming_the_variable(text):
    with pytest.raises(ConfigError) as caught:
        load_settings({"OUTCOME_HORIZONS": text}, env_file=None)
    message = str(caught.value)
    assert message.startswith("OUTCOME_HORIZONS") and "\n" not in message
    assert "1h,4h,24h" in message or "7d" in message


def test_env_example_lists_it_with_its_default():
    assert "OUTCOME_HORIZONS=1h,4h,24h" in (ROOT / ".env.example").read_text()
