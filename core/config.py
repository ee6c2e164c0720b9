"""Settings from the environment and ``.env`` (SPEC §2).

``load_settings()`` raises :class:`ConfigError` with one line naming the variable when a value
is malformed; ``bot/__main__.py`` prints that line and exits instead of a traceback.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

from dotenv import dotenv_values

DEFAULT_TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_COINGLASS_BASE_URL = "https://open-api-v4.coinglass.com"
DEFAULT_COINGLASS_WS_URL = "wss://open-ws.coinglass.com/ws-api"


class ConfigError(ValueError):
    """A malformed setting; the message is one line that names the variable."""


@dataclass(frozen=True)
class Settings:
    telegram_bot_token: str | None = None
    telegram_api_base_url: str = DEFAULT_TELEGRAM_API_BASE_URL
    coinglass_base_url: str = DEFAULT_COINGLASS_BASE_URL
    database_path: Path = Path("perpwatch.db")
    secret_key: str | None = field(default=None, repr=False)
    poll_interval_seconds: int | None = None     # None: auto (SPEC §10)
    coinglass_ws_url: str | None = DEFAULT_COINGLASS_WS_URL    # None: streaming off (§11)
    admin_user_ids: frozenset[int] = frozenset()
    log_level: str = "INFO"
    webhook_url: str | None = None               # None: long polling (SPEC §15)
    port: int = 8080                             # the webhook and /healthz
    backup_dir: Path | None = None               # a daily backup, 7 kept (None: off)
    outcome_horizons: tuple[int, ...] = (3600, 14400, 86400)   # seconds (SPEC §14)

    @property
    def key_file(self) -> Path:
        """Where a generated encryption key lives when PERPWATCH_SECRET_KEY is unset."""
        return self.database_path.with_name(self.database_path.name + ".key")

    def __repr__(self) -> str:  # never print the token or the secret
        return (f"Settings(database_path={str(self.database_path)!r}, "
                f"telegram_api_base_url={self.telegram_api_base_url!r}, "
                f"coinglass_base_url={self.coinglass_base_url!r}, "
                f"poll_interval_seconds={self.poll_interval_seconds or 'auto'}, "
                f"mode={'webhook' if self.webhook_url else 'polling'}, port={self.port}, "
                f"token={'set' if self.telegram_bot_token else 'unset'})")


def _url(name: str, value: str) -> str:
    value = value.strip()
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/") if name == "COINGLASS_BASE_URL" else value


def _webhook_url(name: str, value: str) -> str:
    """An http(s) URL with a host. Telegram itself posts only to HTTPS on ports 443, 80, 88
    or 8443; a local Bot API server (TELEGRAM_API_BASE_URL) also posts to plain HTTP, so
    that check is left to setWebhook, whose refusal stops start-up with one line."""
    url = _url(name, value)
    parts = urlsplit(url)
    if not parts.hostname:
        raise ConfigError(f"{name} must be a URL with a host, like https://bot.example.com/tg, "
                          f"got {value!r}")
    if parts.path.rstrip("/") == "/healthz":
        raise ConfigError(f"{name} must not end in /healthz: that path answers health checks")
    return url


def _port(name: str, value: str) -> int:
    try:
        port = int(value.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a port number from 1 to 65535, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name} must be a port number from 1 to 65535, got {port}")
    return port


def _ws_url(name: str, value: str) -> str | None:
    """A ``ws://``/``wss://`` URL, or ``off`` (no live stream: alerts come from polling)."""
    value = value.strip()
    if value.lower() == "off":
        return None
    if not value.startswith(("ws://", "wss://")):
        raise ConfigError(f"{name} must be a ws:// or wss:// URL, or off, got {value!r}")
    return value.rstrip("/")


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number of seconds, got {value!r}") from None
    if number < 1:
        raise ConfigError(f"{name} must be at least 1, got {number}")
    return number


def _interval(name: str, value: str) -> int | None:
    """``auto`` (the budget decides, SPEC §10) or a whole number of seconds ≥ 1."""
    if value.strip().lower() == "auto":
        return None
    try:
        return _positive_int(name, value)
    except ConfigError:
        raise ConfigError(f"{name} must be auto or a whole number of seconds ≥ 1, "
                          f"got {value!r}") from None


def _id_list(name: str, value: str) -> frozenset[int]:
    ids = set()
    for part in value.replace(" ", "").split(","):
        if not part:
            continue
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(
                f"{name} must be comma-separated Telegram user ids, got {part!r}"
            ) from None
    return frozenset(ids)


def _log_level(name: str, value: str) -> str:
    level = value.strip().upper()
    if level not in logging.getLevelNamesMapping():
        raise ConfigError(f"{name} must be one of DEBUG, INFO, WARNING, ERROR, got {value!r}")
    return level


def _token(name: str, value: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    head, sep, tail = value.partition(":")
    if not sep or not head.isdigit() or not tail:
        raise ConfigError(f"{name} does not look like a bot token from @BotFather (123456:ABC...)")
    return value


MAX_OUTCOME_HORIZON = 7 * 86400


def _horizons(name: str, value: str) -> tuple[int, ...]:
    """``1h,4h,24h`` (units s, m, h, d): when an alert's outcome is measured, at most 7 days."""
    from core.outcomes import parse_horizons

    try:
        horizons = parse_horizons(value)
    except ValueError:
        raise ConfigError(f"{name} must be horizons like 1h,4h,24h (units s, m, h, d), "
                          f"got {value!r}") from None
    if horizons[-1] > MAX_OUTCOME_HORIZON:
        raise ConfigError(f"{name} must be at most 7d each, got {value!r}")
    return horizons


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: str | Path | None = ".env"
) -> Settings:
    """Read settings: the environment wins over ``.env``; unset variables take defaults."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = values.get(name)
        return value if value is not None and value.strip() != "" else None

    kwargs: dict = {}
    if (v := get("TELEGRAM_BOT_TOKEN")) is not None:
        kwargs["telegram_bot_token"] = _token("TELEGRAM_BOT_TOKEN", v)
    if (v := get("TELEGRAM_API_BASE_URL")) is not None:
        kwargs["telegram_api_base_url"] = _url("TELEGRAM_API_BASE_URL", v)
    if (v := get("COINGLASS_BASE_URL")) is not None:
        kwargs["coinglass_base_url"] = _url("COINGLASS_BASE_URL", v)
    if (v := get("COINGLASS_WS_URL")) is not None:
        kwargs["coinglass_ws_url"] = _ws_url("COINGLASS_WS_URL", v)
    if (v := get("DATABASE_PATH")) is not None:
        kwargs["database_path"] = Path(v.strip()).expanduser()
    if (v := get("PERPWATCH_SECRET_KEY")) is not None:
        from core.storage.crypto import validate_secret  # crypto imports ConfigError from here

        validate_secret(v.strip())
        kwargs["secret_key"] = v.strip()
    if (v := get("POLL_INTERVAL_SECONDS")) is not None:
        kwargs["poll_interval_seconds"] = _interval("POLL_INTERVAL_SECONDS", v)
    if (v := get("ADMIN_USER_IDS")) is not None:
        kwargs["admin_user_ids"] = _id_list("ADMIN_USER_IDS", v)
    if (v := get("LOG_LEVEL")) is not None:
        kwargs["log_level"] = _log_level("LOG_LEVEL", v)
    if (v := get("WEBHOOK_URL")) is not None:
        kwargs["webhook_url"] = _webhook_url("WEBHOOK_URL", v)
    if (v := get("PORT")) is not None:
        kwargs["port"] = _port("PORT", v)
    if (v := get("BACKUP_DIR")) is not None:
        kwargs["backup_dir"] = Path(v.strip()).expanduser()
    if (v := get("OUTCOME_HORIZONS")) is not None:
        kwargs["outcome_horizons"] = _horizons("OUTCOME_HORIZONS", v)
    return Settings(**kwargs)
