"""``python -m bot`` as a real process against the simulators: clean SIGTERM, SIGKILL recovery."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

from cryptography.fernet import Fernet

from tests.e2e.conftest import KEYS, USER

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """``python -m bot`` configured only through its documented environment variables."""

    def __init__(self, tmp_path: Path, tg, cg, secret: str):
        self.tmp = tmp_path
        self.log = tmp_path / "bot.log"
        self.db = tmp_path / "perpwatch.db"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": str(ROOT),
            "TELEGRAM_BOT_TOKEN": tg.token,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "COINGLASS_BASE_URL": cg.base_url,
            "COINGLASS_WS_URL": cg.ws_url,
            "DATABASE_PATH": str(self.db),
            "PERPWATCH_SECRET_KEY": secret,
            "POLL_INTERVAL_SECONDS": "1",
        }
        self.tg = tg
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the process and wait until it has initialised and is long-polling."""
        inits_before = len(self.tg.calls_to("setMyCommands"))
        with open(self.log, "a") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.tmp, env=self.env, stdout=log, stderr=log)
        await self.tg.wait_until(
            lambda: len(self.tg.calls_to("setMyCommands")) > inits_before and self.tg.is_polling,
            timeout=30)

    def output(self) -> str:
        return self.log.read_text()

    def alerts(self, status: str | None = None) -> list[tuple]:
        with sqlite3.connect(self.db) as conn:
            query = "SELECT id, status FROM alerts WHERE kind = 'alert'"
            rows = conn.execute(query).fetchall()
        return [r for r in rows if status is None or r[1] == status]

    def last_poll(self) -> float | None:
        with sqlite3.connect(self.db) as conn:
            row = conn.execute("SELECT last_poll_at FROM users WHERE id = ?", [USER]).fetchone()
        return row[0] if row else None

    async def wait_polls(self, n: int, timeout: float = 20.0) -> None:
        """Wait until the bot has committed ``n`` more polls of the user."""
        seen, last = 0, self.last_poll()
        deadline = time.monotonic() + timeout
        while seen < n:
            assert time.monotonic() < deadline, f"only {seen} polls; {self.output()}"
            await asyncio.sleep(0.05)
            if (current := self.last_poll()) != last:
                seen, last = seen + 1, current

    def triggered(self, signal_id: str) -> list[str]:
        """Statuses of the alerts that ``signal_id`` triggered (new, escalated or due again)."""
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute("SELECT status, payload FROM alerts WHERE kind = 'alert'").fetchall()
        return [status for status, payload in rows
                if signal_id in json.loads(payload).get("triggers", {})]


async def test_sigterm_stops_within_ten_seconds(tmp_path, tg, cg):
    bot = BotProcess(tmp_path, tg, cg, Fernet.generate_key().decode())
    await bot.start()
    before = len(tg.messages(USER))
    tg.user_sends(USER, "/start")
    await tg.wait_for_message(USER, "Welcome", timeout=15)
    assert len(tg.messages(USER)) == before + 1
    started = time.monotonic()
    bot.proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(bot.proc.wait(), timeout=10)
    assert time.monotonic() - started < 10
    assert code == 0, bot.output()
    output = bot.output()
    assert "started: database" in output and "database closed" in output
    assert "Traceback" not in output


async def test_sigkill_during_a_poll_then_restart_delivers_once(tmp_path, tg, cg):
    bot = BotProcess(tmp_path, tg, cg, Fernet.generate_key().decode())
    await bot.start()
    tg.user_sends(USER, f"/setkey {KEYS['professional']}")
    await tg.wait_for_message(USER, "Key saved", timeout=20)
    tg.user_sends(USER, "/subscribe ETH")
    await tg.wait_for_message(USER, "Watching ETH", timeout=15)

    # Telegram fails every send: the decided alert stays in the outbox.
    tg.fail_next("sendMessage", error_code=502, times=10_000)
    cg.market.scenario("cascade", "ETH")
    deadline = time.monotonic() + 20
    while not bot.alerts("pending"):
        assert time.monotonic() < deadline, bot.output()
        await asyncio.sleep(0.1)
    # Make the next poll hang in CoinGlass, and kill the bot in the middle of it.
    cg.inject_fault("latency", seconds=30)
    await tg.wait_until(lambda: cg.in_flight > 0, timeout=10)     # a poll is under way
    bot.proc.kill()
    await bot.proc.wait()
    assert [m for m in tg.messages(USER) if "🔴 ETH" in m.text] == []

    cg.clear_faults()
    tg.clear_faults()
    await bot.start()
    await tg.wait_for_message(USER, "🔴 ETH", timeout=20)
    await bot.wait_polls(3)          # several more polls: nothing repeats
    # The restarted bot reads slow figures afresh, which may bring genuinely new signals; the
    # cascade decided before the kill is delivered once and never decided again.
    assert bot.triggered("liquidation_cascade") == ["sent"]
    cascade = [line for m in tg.messages(USER) for line in m.text.split("\n")
               if line.startswith("🔴 Long liquidation cascade") and line.endswith("· new")]
    assert len(cascade) == 1
    bot.proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(bot.proc.wait(), timeout=10) == 0
