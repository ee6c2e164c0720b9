"""Settings: defaults, .env, and one clear line for a malformed value."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.config import ConfigError, load_settings


def test_defaults_without_environment(tmp_path):
    settings = load_settings({}, env_file=tmp_path / "missing.env")
    assert settings.telegram_bot_token is None
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.coinglass_base_url == "https://open-api-v4.coinglass.com"
    assert settings.database_path == Path("perpwatch.db")
    assert settings.key_file == Path("perpwatch.db.key")
    assert settings.poll_interval_seconds is None        # auto (SPEC §10)
    assert settings.admin_user_ids == frozenset()
    assert settings.log_level == "INFO"


def test_env_file_is_read_and_environment_wins(tmp_path):
    env = tmp_path / ".env"
    env.write_text("POLL_INTERVAL_SECONDS=60\nADMIN_USER_IDS=1, 2\nLOG_LEVEL=debug\n"
                   "COINGLASS_BASE_URL=http://127.0.0.1:9000/\n")
    settings = load_settings({"POLL_INTERVAL_SECONDS": "1"}, env_file=env)
    assert settings.poll_interval_seconds == 1
    assert settings.admin_user_ids == {1, 2}
    assert settings.log_level == "DEBUG"
    assert settings.coinglass_base_url == "http://127.0.0.1:9000"


@pytest.mark.parametrize("name,value", [
    ("POLL_INTERVAL_SECONDS", "abc"), ("POLL_INTERVAL_SECONDS", "0"),
    ("POLL_INTERVAL_SECONDS", "-5"), ("ADMIN_USER_IDS", "12,bob"),
    ("LOG_LEVEL", "LOUD"), ("COINGLASS_BASE_URL", "ftp://x"),
    ("TELEGRAM_API_BASE_URL", "api.telegram.org"), ("TELEGRAM_BOT_TOKEN", "not-a-token"),
    ("PERPWATCH_SECRET_KEY", "too-short"),
])
def test_malformed_value_names_the_variable_in_one_line(tmp_path, name, value):
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value}, env_file=None)
    message = str(caught.value)
    assert name in message and "\n" not in message


def test_secrets_stay_out_of_repr():
    key = Fernet.generate_key().decode()
    settings = load_settings({"TELEGRAM_BOT_TOKEN": "123456:SECRET-TOKEN",
                              "PERPWATCH_SECRET_KEY": key}, env_file=None)
    assert settings.secret_key == key
    assert "SECRET-TOKEN" not in repr(settings) and key not in repr(settings)


def test_empty_values_mean_unset():
    settings = load_settings({"TELEGRAM_BOT_TOKEN": "", "ADMIN_USER_IDS": " "}, env_file=None)
    assert settings.telegram_bot_token is None and settings.admin_user_ids == frozenset()
