"""COINGLASS_WS_URL (SPEC §2): the documented default, ``off``, one clear line when malformed."""

from __future__ import annotations

import pytest

from core.config import ConfigError, load_settings


def test_default_and_off_and_a_local_simulator(tmp_path):
    assert load_settings({}, env_file=tmp_path / "none").coinglass_ws_url == \
        "wss://open-ws.coinglass.com/ws-api"
    assert load_settings({"COINGLASS_WS_URL": " OFF "}, env_file=None).coinglass_ws_url is None
    local = load_settings({"COINGLASS_WS_URL": "ws://127.0.0.1:8801/ws-api/"}, env_file=None)
    assert local.coinglass_ws_url == "ws://127.0.0.1:8801/ws-api"


@pytest.mark.parametrize("value", ["https://open-ws.coinglass.com/ws-api", "open-ws", "no"])
def test_a_malformed_value_names_the_variable_in_one_line(value):
    with pytest.raises(ConfigError) as caught:
        load_settings({"COINGLASS_WS_URL": value}, env_file=None)
    message = str(caught.value)
    assert "COINGLASS_WS_URL" in message and "off" in message and "\n" not in message
