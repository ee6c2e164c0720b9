"""One-line logs with no secrets, whoever logs them.

Some libraries log secrets: httpx logs every request URL at INFO, and Telegram URLs contain
the bot token; python-telegram-bot logs whole updates at DEBUG (an update can hold a user's
API key before /setkey deletes it) and puts the token in ``InvalidToken``'s message. Three
layers keep them out of every line:

- those loggers are held at INFO or WARNING even when LOG_LEVEL=DEBUG;
- a log record factory scrubs every record as it is made, for every handler: its message,
  its exception text (pre-rendered, so a handler's formatter uses the scrubbed copy) and its
  stack. What is scrubbed: the configured secrets (the bot token and its secret half, the
  encryption key, the webhook's secret token, anything passed to :func:`register_secret`)
  and anything shaped like one (a bot token, a CoinGlass key in a header, URL or /setkey);
- the handler's formatter scrubs the finished line once more.

Expected upstream conditions (a ``TelegramError`` logged by python-telegram-bot) lose their
traceback and keep one line; uncaught exceptions go through logging, so they are scrubbed too.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Iterable

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
QUIET_FLOOR = {"telegram": logging.INFO, "httpx": logging.WARNING, "httpcore": logging.WARNING,
               "apscheduler": logging.WARNING, "aiohttp.access": logging.WARNING,
               # logs every RetryAfter as an ERROR; bot/sender.py handles (and counts) them
               "telegram.ext.AIORateLimiter": logging.CRITICAL}

# Shapes of secrets that were never configured here: another bot's token; a CoinGlass key in
# its header, in the WebSocket URL's query, or typed after /setkey; CoinGlass keys are 32 hex
# digits.
PATTERNS = (
    (re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}"), REDACTED),
    (re.compile(r"(?i)(cg-api-key[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"), r"\g<1>" + REDACTED),
    (re.compile(r"(?i)(/setkey(?:@\w+)?\s+)\S+"), r"\g<1>" + REDACTED),
    (re.compile(r"\b[0-9a-fA-F]{32}\b"), REDACTED),
)
MIN_SECRET = 8          # shorter values would scrub ordinary words


class Redactor:
    """Replaces known secrets and secret-shaped strings with ``[redacted]``."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._ordered: list[str] = []

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if not secret:
                continue
            parts = [secret]
            head, sep, tail = secret.partition(":")
            if sep and head.isdigit():
                parts.append(tail)          # a bot token's secret half, e.g. URL-encoded ":"
            parts += [p.strip() for p in secret.split(",")]     # rotated Fernet keys
            self._secrets.update(p for p in parts if len(p) >= MIN_SECRET)
        # Longest first: a token is replaced whole before its secret half is looked for.
        self._ordered = sorted(self._secrets, key=len, reverse=True)

    def clear(self) -> None:
        self._secrets.clear()
        self._ordered = []

    def __call__(self, text: str) -> str:
        for secret in self._ordered:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in PATTERNS:
            text = pattern.sub(replacement, text)
        return text


REDACTOR = Redactor()           # logging is process-wide, and so is what it must not print


def register_secret(*secrets: str | None) -> None:
    """Never log these values (e.g. a secret learnt at run time)."""
    REDACTOR.add(*secrets)


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    """Scrub ``record`` in place: message, exception text and stack."""
    try:
        message = record.getMessage()
    except Exception:                   # a bad format string: logging reports it itself
        return record
    clean = REDACTOR(message)
    if clean != message:
        record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = REDACTOR(record.exc_text)
    if record.stack_info:
        record.stack_info = REDACTOR(record.stack_info)
    return record


_base_factory = logging.getLogRecordFactory()


def _scrubbing_factory(*args, **kwargs) -> logging.LogRecord:
    return scrub(_base_factory(*args, **kwargs))


class OneLineTelegramErrors(logging.Filter):
    """python-telegram-bot logs expected upstream conditions (Telegram unreachable, a
    conflict, a rejected call) with a traceback; keep them to one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        from telegram.error import TelegramError

        error = record.exc_info[1] if record.exc_info else None
        if record.name.startswith("telegram") and isinstance(error, TelegramError):
            message = f"{record.getMessage()} ({type(error).__name__}: {error})"
            record.msg, record.args = REDACTOR(message), None
            record.exc_info = record.exc_text = None
        return True


class ScrubbingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return REDACTOR(super().format(record))


def _log_uncaught(exc_type, exc, tb) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("perpwatch").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    logging.getLogger("perpwatch").critical(
        "uncaught exception in thread %s", getattr(args.thread, "name", "?"),
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def setup_logging(level: str = "INFO", secrets: Iterable[str | None] = ()) -> None:
    """Log one line per record to stderr, scrubbed; calling it again replaces only its own
    handler (the secrets registered stay registered)."""
    REDACTOR.add(*secrets)
    if logging.getLogRecordFactory() is not _scrubbing_factory:
        logging.setLogRecordFactory(_scrubbing_factory)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread
    logging.captureWarnings(True)
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_perpwatch", False)]
    handler = logging.StreamHandler()
    handler._perpwatch = True
    handler.setFormatter(ScrubbingFormatter(FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
    handler.addFilter(OneLineTelegramErrors())
    root.addHandler(handler)
    root.setLevel(level)
    for name, floor in QUIET_FLOOR.items():
        logging.getLogger(name).setLevel(max(floor, root.level))
