"""Is the bot healthy? What ``GET /healthz`` answers (SPEC §15).

Healthy (200) unless one of these holds (503), each named in ``problems``:

- Telegram has not been reached yet (start-up keeps retrying), or polling it failed within
  the last ``TELEGRAM_GRACE_SECONDS``;
- the database does not answer a read;
- no poll has run for 3 × the longest interval of the users who are due now (the scheduler
  has stalled; the interval comes from ``core/budget.py`` like everywhere else);
- the outbox backlog (messages due and not yet sent) has been growing for 10 minutes: it rose
  and has not gone down since, so the sender is stuck or cannot keep up.

The backlog is sampled by a JobQueue job (``schedule``); everything else is read when asked.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from telegram.ext import Application, ContextTypes, JobQueue

from bot.services import SERVICES_KEY, Services

log = logging.getLogger(__name__)

STALL_FACTOR = 3                 # × the longest interval of the due users
BACKLOG_WINDOW_SECONDS = 600.0   # a backlog growing this long is unhealthy
SAMPLE_SECONDS = 30.0
TELEGRAM_GRACE_SECONDS = 45.0    # python-telegram-bot retries a failed poll ≤ 30 s apart
DUE_SAMPLE = 200                 # due users whose interval is looked at (most overdue first)


class BacklogTrend:
    """Whether the outbox backlog has been growing for ``window`` seconds: it rose from a
    lower value and has not gone down since (flat counts as not going down)."""

    def __init__(self, window: float = BACKLOG_WINDOW_SECONDS):
        self.window = window
        self.previous = 0
        self.rising_since: float | None = None

    def observe(self, now: float, backlog: int) -> None:
        if backlog == 0 or backlog < self.previous:
            self.rising_since = None
        elif backlog > self.previous and self.rising_since is None:
            self.rising_since = now
        self.previous = backlog

    def growing_for(self, now: float) -> float:
        return 0.0 if self.rising_since is None else now - self.rising_since

    def stuck(self, now: float) -> bool:
        return self.rising_since is not None and now - self.rising_since >= self.window


@dataclass
class HealthReport:
    healthy: bool
    mode: str
    telegram: str
    database: str
    last_poll_age_s: float | None
    outbox_backlog: int | None
    stream: str | None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.healthy else "unhealthy", "mode": self.mode,
                "telegram": self.telegram, "database": self.database,
                "last_poll_age_s": self.last_poll_age_s, "outbox_backlog": self.outbox_backlog,
                "stream": self.stream, "problems": self.problems}


class HealthMonitor:
    """Health of one running Application. The runner tells it about Telegram
    (:meth:`telegram_ok`, :meth:`telegram_failed`); services are read from ``bot_data``."""

    def __init__(self, app: Application, *, mode: str = "polling",
                 clock: Callable[[], float] = time.time,
                 backlog_window: float = BACKLOG_WINDOW_SECONDS):
        self.app = app
        self.mode = mode
        self.clock = clock
        self.trend = BacklogTrend(backlog_window)
        self.connected = False
        self.telegram_error: str | None = "connecting"
        self.telegram_error_at: float | None = None

    # --- what the runner reports --------------------------------------------------------------

    def telegram_ok(self) -> None:
        self.connected = True
        self.telegram_error = self.telegram_error_at = None

    def telegram_failed(self, reason: str) -> None:
        self.telegram_error, self.telegram_error_at = reason, self.clock()

    # --- samples ------------------------------------------------------------------------------

    def sample(self) -> None:
        """Record the outbox backlog (a JobQueue job calls this every ``SAMPLE_SECONDS``)."""
        svc = self._services()
        if svc is None:
            return
        try:
            backlog = svc.repo.outbox_backlog(self.clock())
        except sqlite3.Error:
            return                      # the report says the database is unreachable
        self.trend.observe(self.clock(), backlog)

    # --- the report ---------------------------------------------------------------------------

    def report(self) -> HealthReport:
        now = self.clock()
        problems: list[str] = []
        telegram = self._telegram(now, problems)
        svc = self._services()
        report = HealthReport(False, self.mode, telegram, "starting", None, None, None, problems)
        if svc is None:
            problems.append("starting: the database and jobs open once Telegram answers")
            return report
        report.stream = _stream_state(svc)
        try:
            last_poll = svc.repo.last_poll_at()
            report.outbox_backlog = svc.repo.outbox_backlog(now)
            due = svc.repo.due_users(now, limit=DUE_SAMPLE)
            longest = max((svc.poller.budget(u, len(svc.repo.coins(u.id))).interval
                           for u in due), default=0)
        except sqlite3.Error as exc:
            report.database = f"unreachable: {exc}"
            problems.append(f"database unreachable ({exc})")
            return report
        report.database = "ok"
        if last_poll is not None:
            report.last_poll_age_s = round(max(0.0, now - last_poll), 1)
        # After a restart the last poll may be old: count from the start, not from before it.
        idle = now - max(last_poll or 0.0, svc.started_at)
        if due and idle > STALL_FACTOR * longest:
            problems.append(f"no poll for {idle:.0f} s while {len(due)} user(s) are due "
                            f"(limit {STALL_FACTOR} × {longest} s, their longest interval)")
        if self.trend.stuck(now):
            problems.append(f"outbox backlog growing for {self.trend.growing_for(now):.0f} s "
                            f"({report.outbox_backlog} messages waiting)")
        report.healthy = not problems
        return report

    def _telegram(self, now: float, problems: list[str]) -> str:
        if not self.connected:
            problems.append(f"Telegram not reached yet ({self.telegram_error})")
            return f"connecting: {self.telegram_error}"
        if self.telegram_error_at is not None:
            if now - self.telegram_error_at < TELEGRAM_GRACE_SECONDS:
                ago = now - self.telegram_error_at
                problems.append(f"Telegram unreachable {ago:.0f} s ago ({self.telegram_error})")
                return f"unreachable: {self.telegram_error}"
            self.telegram_error = self.telegram_error_at = None
        return "ok"

    def _services(self) -> Services | None:
        return self.app.bot_data.get(SERVICES_KEY)


def _stream_state(svc: Services) -> str | None:
    """The WebSocket stream's own summary (``Services.stream_state``); a broken hook must not
    break the health check."""
    try:
        return svc.stream_state()
    except Exception as exc:    # another component's bug: report it, keep answering
        log.warning("the stream's state hook failed: %s", exc)
        return f"unknown ({type(exc).__name__})"


async def _sample(context: ContextTypes.DEFAULT_TYPE) -> None:
    context.job.data.sample()


def schedule(job_queue: JobQueue, monitor: HealthMonitor,
             every: float = SAMPLE_SECONDS) -> None:
    job_queue.run_repeating(_sample, interval=every, first=1.0, name="health", data=monitor,
                            job_kwargs={"max_instances": 1, "coalesce": True})
