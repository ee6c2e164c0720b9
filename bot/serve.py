"""Running the bot for real: long polling or webhook, ``/healthz``, and start-up failures as
one line each with a documented exit code (SPEC §15).

The lifecycle is python-telegram-bot's (initialize, post_init, updates, start … stop,
post_stop, shutdown, post_shutdown), run here rather than by ``run_polling``/``run_webhook``
so that each failure an operator meets is one line and a decision:

- the token is rejected (401/404 on getMe): one line, exit 2;
- Telegram is unreachable: one line per attempt, retried 1, 2, 4, 8, 15, 30, then every 60 s,
  for ever; ``/healthz`` answers 503 meanwhile; SIGTERM still stops at once;
- another instance receives this bot's updates (409 Conflict on getUpdates): one line,
  exit 3 (the instance started last keeps polling);
- Telegram refuses ``WEBHOOK_URL``: one line, exit 2; ``PORT`` cannot be opened: one line,
  exit 4; the database cannot be opened: one line, exit 2.

The full table of exit codes is in ``bot/__main__.py`` and the README.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import signal
import sqlite3
import time
from typing import Awaitable, Callable, TypeVar
from urllib.parse import urlsplit

from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter, TelegramError
from telegram.ext import Application, Updater

from bot import backup, health
from bot.app import build_application
from bot.health import HealthMonitor
from bot.logs import register_secret
from bot.pacing import retry_after_seconds
from bot.web import WebServer, Webhook
from core.config import DEFAULT_TELEGRAM_API_BASE_URL, Settings
from core.storage.db import open_database

log = logging.getLogger(__name__)

EXIT_OK = 0            # stopped by SIGTERM/SIGINT
EXIT_BUG = 1           # an unexpected error: logged with its traceback (secrets scrubbed)
EXIT_CONFIG = 2        # fix the configuration: a setting, the token, WEBHOOK_URL, DATABASE_PATH
EXIT_CONFLICT = 3      # another instance receives this bot's updates
EXIT_PORT = 4          # PORT cannot be opened

RETRY_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)   # then the last, for ever
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
POLL_TIMEOUT = 10      # seconds a getUpdates long poll stays open

T = TypeVar("T")


class StartupFailure(Exception):
    """A failure the operator must fix: one line, one exit code."""

    def __init__(self, code: int, line: str):
        super().__init__(line)
        self.code = code
        self.line = line


class _Stopped(Exception):
    """SIGTERM/SIGINT arrived while waiting."""


class Runner:
    """Runs one Application in the current event loop until :meth:`stop`; :meth:`run` returns
    the exit code. ``host`` is where ``PORT`` listens (every interface in production)."""

    def __init__(self, settings: Settings, app: Application | None = None, *,
                 host: str = "0.0.0.0", retry_delays: tuple[float, ...] = RETRY_DELAYS,
                 clock: Callable[[], float] = time.time,
                 backlog_window: float = health.BACKLOG_WINDOW_SECONDS,
                 health_every: float = health.SAMPLE_SECONDS):
        self.settings = settings
        self.app = app or build_application(settings)
        self.retry_delays = retry_delays
        self.health_every = health_every
        self.webhook: Webhook | None = None
        if settings.webhook_url:
            # A new secret on every start: a leaked one dies with the process.
            self.webhook = Webhook(urlsplit(settings.webhook_url).path or "/",
                                   secrets.token_urlsafe(32))
            register_secret(self.webhook.secret_token)
        self.health = HealthMonitor(self.app, mode="webhook" if self.webhook else "polling",
                                    clock=clock, backlog_window=backlog_window)
        self.web = WebServer(self.app, self.health, port=settings.port, host=host,
                             webhook=self.webhook)
        self.ready = asyncio.Event()          # set once updates flow (tests wait on it)
        self._stop = asyncio.Event()
        self._exit: int | None = None

    def stop(self) -> None:
        self._stop.set()

    async def main(self) -> int:
        """``run`` with SIGTERM and SIGINT stopping it (``python -m bot``)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        return await self.run()

    async def run(self) -> int:
        try:
            await self._run()
        except StartupFailure as failure:
            self._fail(failure.code, failure.line)
        return EXIT_OK if self._exit is None else self._exit

    def _fail(self, code: int, line: str) -> None:
        """Say it once, stop, and exit with ``code``."""
        if self._exit is None:
            self._exit = code
            log.error("%s (exit code %d)", line, code)
        self._stop.set()

    # --- the lifecycle --------------------------------------------------------------------------

    async def _run(self) -> None:
        _check_database(self.settings)
        try:
            await self.web.start()
        except OSError as exc:
            # asyncio says "error while attempting to bind on address …: address already in use"
            reason = (exc.strerror or str(exc)).rpartition(": ")[2]
            raise StartupFailure(EXIT_PORT, f"cannot listen on PORT {self.settings.port}: "
                                 f"{reason}; free it or set PORT") from None
        initialised = False
        try:
            if not await self._connect():
                log.info("perpwatch stopped before Telegram was reached (nothing was started)")
                return
            await self.app.post_init(self.app)
            initialised = True
            health.schedule(self.app.job_queue, self.health, every=self.health_every)
            if self.settings.backup_dir is not None:
                backup.schedule(self.app.job_queue, self.settings)
            if self.webhook is None:
                await self._until_stopped(self.app.updater.start_polling(
                    poll_interval=0.0, timeout=POLL_TIMEOUT, bootstrap_retries=-1,
                    allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False,
                    error_callback=self._polling_error))
            await self.app.start()
            if self.webhook is None:
                log.info("polling Telegram for updates; /healthz on port %d "
                         "(Ctrl-C or SIGTERM stops)", self.web.port)
            else:
                log.info("receiving updates by webhook at %s (port %d, path %s); /healthz on "
                         "the same port (Ctrl-C or SIGTERM stops)", self.settings.webhook_url,
                         self.web.port, self.webhook.path)
            self.ready.set()
            await self._stop.wait()
        except _Stopped:
            pass
        finally:
            await self._shutdown(initialised)

    async def _connect(self) -> bool:
        """Reach Telegram (getMe, then set or delete the webhook), retrying with back-off for
        as long as it takes; False when stopped meanwhile."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._until_stopped(self._reach_telegram())
            except _Stopped:
                return False
            except InvalidToken:
                raise StartupFailure(EXIT_CONFIG, _token_rejected(self.settings)) from None
            except BadRequest as exc:
                if self.webhook is None:
                    raise
                raise StartupFailure(EXIT_CONFIG, f"Telegram refused WEBHOOK_URL "
                                     f"{self.settings.webhook_url}: {exc.message} (Telegram "
                                     "posts to HTTPS on ports 443, 80, 88 or 8443)") from None
            except RetryAfter as exc:
                delay, reason = retry_after_seconds(exc) + 0.5, "flood control"
            except TelegramError as exc:
                delay = self.retry_delays[min(attempt, len(self.retry_delays)) - 1]
                reason = str(exc) or type(exc).__name__
            else:
                self.health.telegram_ok()
                if attempt > 1:
                    log.info("Telegram reached at attempt %d", attempt)
                return True
            self.health.telegram_failed(reason)
            log.warning("Telegram unreachable (attempt %d): %s; retrying in %s s", attempt,
                        reason, f"{delay:g}")
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
                return False
            except TimeoutError:
                pass

    async def _reach_telegram(self) -> None:
        await self.app.initialize()              # getMe: checks the token
        if self.webhook is None:
            await self.app.bot.delete_webhook(drop_pending_updates=False)
        else:
            await self.app.bot.set_webhook(
                self.settings.webhook_url, secret_token=self.webhook.secret_token,
                allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)

    def _polling_error(self, exc: TelegramError) -> None:
        """python-telegram-bot's polling loop reports its errors here, then retries (≤ 30 s
        apart). A Conflict means another instance polls this token: that is not retried."""
        if isinstance(exc, Conflict):
            self._fail(EXIT_CONFLICT, f"another instance is receiving this bot's updates "
                       f"(Telegram: {exc.message}); stop it, then start this one again")
            return
        self.health.telegram_failed(str(exc))
        log.warning("Telegram unreachable while polling: %s; retrying", exc)

    async def _until_stopped(self, work: Awaitable[T]) -> T:
        """``work``, unless a stop comes first (then it is cancelled and ``_Stopped`` raised)."""
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise _Stopped
        return task.result()

    async def _shutdown(self, initialised: bool) -> None:
        """Stop taking updates first, then the same order as ``run_polling``."""
        app = self.app
        if self._exit == EXIT_CONFLICT and app.updater is not None:
            _skip_confirming_get_updates(app.updater)
        if app.updater is not None and app.updater.running:
            # Stopping, the updater confirms the last updates with one more getUpdates; after
            # a Conflict that fails with the same Conflict, already said once.
            quiet = _DropConflicts() if self._exit == EXIT_CONFLICT else None
            updater_log = logging.getLogger("telegram.ext.Updater")
            if quiet:
                updater_log.addFilter(quiet)
            try:
                await app.updater.stop()
            finally:
                if quiet:
                    updater_log.removeFilter(quiet)
        await self.web.stop()
        if app.running:
            await app.stop()
        if initialised:
            await app.post_stop(app)
        await app.shutdown()
        await app.bot.shutdown()                 # after a failed initialize(): its clients
        if initialised:
            await app.post_shutdown(app)


_CLEANUP_ATTRIBUTE = "_Updater__polling_cleanup_cb"      # python-telegram-bot 22.x


def _skip_confirming_get_updates(updater: Updater) -> None:
    """Stopping, the updater sends one more getUpdates to confirm what it fetched. After a
    Conflict that request would end the newer instance's long poll in turn (Telegram ends the
    older request), and both instances would exit. The newer one fetches whatever this one did
    not confirm. Pinned python-telegram-bot: the attribute is private, checked by a process test
    (two instances on one token)."""
    if getattr(updater, _CLEANUP_ATTRIBUTE, None) is not None:
        async def confirm_nothing() -> None:
            return None
        setattr(updater, _CLEANUP_ATTRIBUTE, confirm_nothing)


class _DropConflicts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], Conflict))


def _check_database(settings: Settings) -> None:
    """Open (create, migrate) the database once before anything else, so that an unwritable
    volume is one clear line rather than a traceback after Telegram was reached."""
    try:
        open_database(settings.database_path).close()
    except (OSError, sqlite3.Error) as exc:
        raise StartupFailure(EXIT_CONFIG, f"cannot open the database {settings.database_path} "
                             f"(DATABASE_PATH): {exc}; its directory must be writable by this "
                             "user") from None


def _token_rejected(settings: Settings) -> str:
    bot_id = (settings.telegram_bot_token or "").partition(":")[0]
    line = (f"Telegram rejected TELEGRAM_BOT_TOKEN (bot id {bot_id}): copy the token again from "
            "@BotFather (/mybots → API Token)")
    if settings.telegram_api_base_url != DEFAULT_TELEGRAM_API_BASE_URL:
        line += f"; also check TELEGRAM_API_BASE_URL ({settings.telegram_api_base_url})"
    return line


def serve(settings: Settings) -> int:
    """``python -m bot`` with a token: run until SIGTERM/SIGINT; returns the exit code."""
    return asyncio.run(Runner(settings).main())
