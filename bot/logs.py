"""One-line logs with no secrets.

Some libraries log secrets at their chattier levels: httpx logs every request URL at INFO, and
Telegram URLs contain the bot token; python-telegram-bot logs whole updates at DEBUG, and an
update can hold a user's API key before /setkey deletes it. Those loggers are therefore held
at INFO or WARNING even when LOG_LEVEL=DEBUG. A filter also replaces any configured secret
that still reaches a record with ``[redacted]``.
"""

from __future__ import annotations

import logging
from typing import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_FLOOR = {"telegram": logging.INFO, "httpx": logging.WARNING, "httpcore": logging.WARNING,
               "apscheduler": logging.WARNING, "aiohttp.access": logging.WARNING,
               # logs every RetryAfter as an ERROR; bot/sender.py handles (and counts) them
               "telegram.ext.AIORateLimiter": logging.CRITICAL}


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str | None]):
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            message = record.getMessage()
            if any(s in message for s in self._secrets):
                for secret in self._secrets:
                    message = message.replace(secret, "[redacted]")
                record.msg, record.args = message, None
        return True


def setup_logging(level: str = "INFO", secrets: Iterable[str | None] = ()) -> None:
    """Log one line per record to stderr; calling it again replaces only its own handler."""
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_perpwatch", False)]
    handler = logging.StreamHandler()
    handler._perpwatch = True
    handler.setFormatter(logging.Formatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    handler.addFilter(RedactSecrets(secrets))
    root.addHandler(handler)
    root.setLevel(level)
    for name, floor in QUIET_FLOOR.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
