"""``python -m bot`` as a real process against the simulators: clean SIGTERM, SIGKILL recovery,
and the start-up failures an operator meets, each one line with its exit code."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from sim.telegram import TelegramSim
from tests.e2e.conftest import KEYS, USER
from tests.ops_support import free_port

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
            "PORT": str(free_port()),           # /healthz; tests never share a port
        }
        self.tg = tg
        self.proc: asyncio.subprocess.Process | None = None

    async def launch(self) -> None:
        """Start the process, without waiting for anything."""
        with open(self.log, "a") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", cwd=self.tmp, env=self.env, stdout=log, stderr=log)

    async def start(self) -> None:
        """Start the process and wait until it has initialised and is long-polling."""
        inits_before = len(self.tg.calls_to("setMyCommands"))
        await self.launch()
        await self.tg.wait_until(
            lambda: len(self.tg.calls_to("setMyCommands")) > inits_before and self.tg.is_polling,
            timeout=30)

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    async def exit_code(self, timeout: float = 30) -> int:
        return await asyncio.wait_for(self.proc.wait(), timeout=timeout)

    async def wait_output(self, text: str, count: int = 1, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.output().count(text) < count:
            assert self.proc.returncode is None, f"exited {self.proc.returncode}: {self.output()}"
            assert time.monotonic() < deadline, f"no {count} × {text!r} in: {self.output()}"
            await asyncio.sleep(0.05)

    async def healthz(self) -> tuple[int, dict]:
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.get(f"http://127.0.0.1:{self.env['PORT']}/healthz")
        return answer.status_code, answer.json()

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


# --- start-up failures: one line, an exit code, never the token ---------------------------------

WRONG_TOKEN = "222222:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"


def assert_no_token(output: str, token: str) -> None:
    secret_half = token.partition(":")[2]
    assert token not in output and secret_half not in output, output
    assert "Traceback" not in output, output


async def test_a_rejected_token_is_one_line_exit_2_and_never_printed(tmp_path, tg, cg):
    bot = BotProcess(tmp_path, tg, cg, Fernet.generate_key().decode())
    bot.env["TELEGRAM_BOT_TOKEN"] = WRONG_TOKEN
    await bot.launch()
    assert await bot.exit_code() == 2
    output = bot.output()
    assert_no_token(output, WRONG_TOKEN)
    (line,) = output.strip().splitlines()
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in line and "@BotFather" in line
    assert "bot id 222222" in line and "exit code 2" in line
    assert [(c.method, c.error_code) for c in tg.calls] == [("getMe", 401)]


async def test_a_second_instance_on_the_token_is_one_line_exit_3(tmp_path, tg, cg):
    tg.simulate_conflict(True)                  # another instance is polling this token
    bot = BotProcess(tmp_path, tg, cg, Fernet.generate_key().decode())
    await bot.launch()
    assert await bot.exit_code() == 3
    output = bot.output()
    assert_no_token(output, tg.token)
    conflict = [line for line in output.splitlines() if "another instance" in line]
    assert len(conflict) == 1, output
    assert sum("Conflict" in line for line in output.splitlines()) == 1, output   # said once
    assert "terminated by other getUpdates request" in conflict[0]
    assert "exit code 3" in conflict[0]
    assert "database closed" in output            # it still stopped cleanly


async def test_two_instances_on_one_token_the_newer_one_keeps_polling(tmp_path, tg, cg):
    """A redeploy that overlaps: the instance whose long poll the newer one ends exits 3, and
    on its way out it must not end the newer one's poll in turn (both would be gone)."""
    secret = Fernet.generate_key().decode()
    (tmp_path / "old").mkdir()
    (tmp_path / "new").mkdir()
    older = BotProcess(tmp_path / "old", tg, cg, secret)
    await older.start()
    newer = BotProcess(tmp_path / "new", tg, cg, secret)
    await newer.launch()
    assert await older.exit_code() == 3
    assert "another instance is receiving this bot's updates" in older.output()

    tg.user_sends(USER, "/start")
    await tg.wait_for_message(USER, "Welcome", timeout=20)
    await newer.wait_output("polling Telegram for updates")
    assert newer.proc.returncode is None and "Conflict" not in newer.output(), newer.output()
    newer.proc.send_signal(signal.SIGTERM)
    assert await newer.exit_code(15) == 0


async def test_telegram_unreachable_then_reachable_keeps_trying_with_healthz_503(tmp_path, cg):
    tg = TelegramSim(port=free_port())            # nothing listens there yet
    bot = BotProcess(tmp_path, tg, cg, Fernet.generate_key().decode())
    await bot.launch()
    try:
        await bot.wait_output("Telegram unreachable (attempt 2)")
        status, health = await bot.healthz()
        assert status == 503 and health["telegram"].startswith("connecting")
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "healthcheck", cwd=tmp_path, env=bot.env,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        assert await asyncio.wait_for(probe.wait(), 20) == 1
        await tg.start()
        await tg.wait_until(lambda: tg.calls_to("setMyCommands") and tg.is_polling, timeout=60)
        status, health = await bot.healthz()
        assert status == 200 and health["telegram"] == "ok", health
        probe = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "healthcheck", cwd=tmp_path, env=bot.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await asyncio.wait_for(probe.communicate(), 20)
        assert probe.returncode == 0 and b'"status": "ok"' in out
        tg.user_sends(USER, "/start")
        await tg.wait_for_message(USER, "Welcome", timeout=15)
        bot.proc.send_signal(signal.SIGTERM)
        assert await bot.exit_code(10) == 0
    finally:
        if bot.proc.returncode is None:
            bot.proc.kill()
        await tg.stop()
    output = bot.output()
    assert_no_token(output, tg.token)
    attempts = [line for line in output.splitlines() if "Telegram unreachable (attempt" in line]
    assert len(attempts) >= 2 and all("retrying in" in line for line in attempts)
    assert "Telegram reached at attempt" in output


async def test_sigterm_while_telegram_is_unreachable_stops_at_once(tmp_path, cg):
    tg = TelegramSim(port=free_port())
    bot = BotProcess(tmp_path, tg, cg, Fernet.generate_key().decode())
    await bot.launch()
    await bot.wait_output("Telegram unreachable (attempt 3)")      # waiting 4 s now
    started = time.monotonic()
    bot.proc.send_signal(signal.SIGTERM)
    assert await bot.exit_code(10) == 0
    assert time.monotonic() - started < 3
    assert "Traceback" not in bot.output()
    assert bot.output().strip().splitlines()[-1].endswith(
        "perpwatch stopped before Telegram was reached (nothing was started)")


async def test_a_port_in_use_is_one_line_exit_4(tmp_path, tg, cg):
    import socket

    bot = BotProcess(tmp_path, tg, cg, Fernet.generate_key().decode())
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", int(bot.env["PORT"])))
        taken.listen()
        await bot.launch()
        assert await bot.exit_code() == 4
    (line,) = bot.output().strip().splitlines()
    assert f"cannot listen on PORT {bot.env['PORT']}" in line and "exit code 4" in line


async def test_a_database_path_that_cannot_be_created_is_one_line_exit_2(tmp_path, tg, cg):
    (tmp_path / "a-file").write_text("not a folder")
    bot = BotProcess(tmp_path, tg, cg, Fernet.generate_key().decode())
    bot.env["DATABASE_PATH"] = str(tmp_path / "a-file" / "perpwatch.db")
    await bot.launch()
    assert await bot.exit_code() == 2
    (line,) = bot.output().strip().splitlines()
    assert "cannot open the database" in line and "DATABASE_PATH" in line
    assert tg.calls == []                         # found before Telegram was asked anything
