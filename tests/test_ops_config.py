"""WEBHOOK_URL, PORT and BACKUP_DIR: defaults, and one line naming the variable when wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, load_settings


def settings(**env: str):
    return load_settings(env, env_file=None)


def test_defaults_are_long_polling_on_port_8080_without_backups():
    s = settings()
    assert (s.webhook_url, s.port, s.backup_dir) == (None, 8080, None)


def test_values_are_read():
    s = settings(WEBHOOK_URL="https://bot.example.com/telegram", PORT="8443",
                 BACKUP_DIR="/srv/backups")
    assert s.webhook_url == "https://bot.example.com/telegram"
    assert (s.port, s.backup_dir) == (8443, Path("/srv/backups"))
    assert "mode=webhook" in repr(s) and "port=8443" in repr(s)


@pytest.mark.parametrize("name, value, says", [
    ("PORT", "http", "PORT must be a port number from 1 to 65535, got 'http'"),
    ("PORT", "70000", "PORT must be a port number from 1 to 65535, got 70000"),
    ("PORT", "0", "PORT must be a port number from 1 to 65535, got 0"),
    ("WEBHOOK_URL", "bot.example.com/hook", "WEBHOOK_URL must be an http(s) URL"),
    ("WEBHOOK_URL", "https:///hook", "WEBHOOK_URL must be a URL with a host"),
    ("WEBHOOK_URL", "https://bot.example.com/healthz", "must not end in /healthz"),
])
def test_a_malformed_value_is_one_line_naming_the_variable(name, value, says):
    with pytest.raises(ConfigError) as caught:
        settings(**{name: value})
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_empty_values_mean_the_default():
    assert settings(WEBHOOK_URL="", PORT=" ", BACKUP_DIR="").webhook_url is None
