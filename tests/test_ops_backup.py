"""``python -m bot backup PATH``: a consistent copy while the bot writes, with its key."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from cryptography.fernet import Fernet

from bot.backup import KEEP, backup, backups_in, daily_backup, key_path_for
from core.config import load_settings
from core.plans import Plan
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from tests.e2e.conftest import USER, cg, harness, settings, tg  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]
DAY = 86400.0


def user_ids(path: Path) -> set[int]:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {row[0] for row in conn.execute("SELECT id FROM users")}


async def test_backups_taken_while_polls_write_are_whole_and_hold_every_user(
        harness, tmp_path):  # noqa: F811
    h = harness
    repo = h.services.repo
    for i in range(20):                       # 20 users, each polling every second
        uid, key = 5000 + i, f"backup-test-key-{i:016d}"
        h.cg.add_key(key, "professional")
        repo.ensure_user(uid)
        repo.store_key(uid, key, Plan.PROFESSIONAL, 1200, None)
        repo.add_coins(uid, ["ETH", "BTC"])
    everyone = user_ids(h.settings.database_path)
    await h.tg.wait_until(lambda: repo.counters_since(0).get("polls", 0) >= 20, timeout=30)

    polls_before = repo.counters_since(0)["polls"]
    copies = []
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:        # back to back, while the loop commits polls
        target = tmp_path / f"copy-{len(copies)}.db"
        copies.append(await asyncio.to_thread(backup, h.settings, target))
    polls_during = repo.counters_since(0)["polls"] - polls_before
    assert polls_during >= 20, "the polls did not write while the backups ran"
    print(f"{len(copies)} backups, {polls_during} polls committed meanwhile")

    for result in copies:
        assert user_ids(result.path) == everyone
        assert result.users == len(everyone)
        assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
        assert not list(result.path.parent.glob(".*.partial"))
    with sqlite3.connect(copies[-1].path) as conn:   # the poll state came along too
        polled = conn.execute("SELECT COUNT(*) FROM users WHERE last_poll_at IS NOT NULL")
        assert polled.fetchone()[0] >= 20


def make_database(tmp_path: Path, *, secret: str | None):
    env = {"DATABASE_PATH": str(tmp_path / "data" / "perpwatch.db")}
    if secret:
        env["PERPWATCH_SECRET_KEY"] = secret
    settings = load_settings(env, env_file=None)
    db = open_database(settings.database_path)
    db["users"].insert({"id": 1, "created_at": 0.0, "active": 1, "paused": 0,
                        "key_state": "none"})
    db.close()
    KeyVault.from_settings(settings.secret_key, settings.key_file)   # generates the key file
    return settings


def test_the_generated_key_file_is_copied_beside_the_backup(tmp_path):
    settings = make_database(tmp_path, secret=None)
    result = backup(settings, tmp_path / "out" / "perpwatch-copy.db")
    assert result.key_path == tmp_path / "out" / "perpwatch-copy.db.key"
    assert result.key_path.read_bytes() == settings.key_file.read_bytes()
    assert stat.S_IMODE(result.key_path.stat().st_mode) == 0o600
    assert result.warning is None and result.users == 1
    assert any("encryption key" in line for line in result.describe())


def test_a_folder_gets_a_dated_file(tmp_path):
    settings = make_database(tmp_path, secret=None)
    folder = tmp_path / "backups"
    folder.mkdir()
    result = backup(settings, folder, now=1_700_000_000)
    assert result.path == folder / "perpwatch-20231114-221320.db"
    assert key_path_for(result.path).exists()


def run_cli(tmp_path: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    full = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=full,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)


def test_the_command_prints_what_it_wrote_and_warns_about_an_environment_key(tmp_path):
    secret = Fernet.generate_key().decode()
    settings = make_database(tmp_path, secret=secret)
    target = tmp_path / "copy.db"
    result = run_cli(tmp_path, {"DATABASE_PATH": str(settings.database_path),
                                "PERPWATCH_SECRET_KEY": secret}, "backup", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == result.stdout.strip().splitlines()[0]      # one line
    assert f"Wrote {target} (" in result.stdout and "1 users, integrity ok" in result.stdout
    assert "PERPWATCH_SECRET_KEY" in result.stderr and "keep a copy" in result.stderr
    assert secret not in result.stdout + result.stderr
    assert user_ids(target) == {1} and not key_path_for(target).exists()


def test_no_database_is_one_line_and_creates_nothing(tmp_path):
    result = run_cli(tmp_path, {"DATABASE_PATH": str(tmp_path / "missing.db")}, "backup",
                     str(tmp_path / "copy.db"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no database at" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_daily_backups_keep_the_newest_seven(tmp_path):
    settings = replace(make_database(tmp_path, secret=None), backup_dir=tmp_path / "daily")
    start = 1_700_000_000.0
    for day in range(10):
        assert daily_backup(settings, start + day * DAY) is not None
        assert daily_backup(settings, start + day * DAY + 3600) is None     # once a day
    kept = backups_in(settings.backup_dir)
    assert len(kept) == KEEP
    assert [at for at, _ in kept] == [start + d * DAY for d in range(10 - KEEP, 10)]
    assert all(key_path_for(path).exists() and user_ids(path) == {1} for _, path in kept)
    assert len(list(settings.backup_dir.glob("*.key"))) == KEEP


async def test_with_backup_dir_the_running_bot_backs_itself_up(tmp_path, tg, cg):  # noqa: F811
    from tests.e2e.conftest import bot_settings
    from tests.ops_support import free_port, serving

    settings = bot_settings(tg, cg, tmp_path / "perpwatch.db", PORT=str(free_port()),
                            BACKUP_DIR=str(tmp_path / "daily"))
    async with serving(settings) as runner:
        tg.user_sends(USER, "/start")
        await tg.wait_for_message(USER, "Welcome", timeout=15)
        (job,) = runner.app.job_queue.get_jobs_by_name("backup")
        await job.run(runner.app)                    # what the hourly tick does
        ((_, path),) = backups_in(tmp_path / "daily")
        assert user_ids(path) == user_ids(settings.database_path)    # whole, every user
        await job.run(runner.app)                    # the same day: no second copy
        assert len(backups_in(tmp_path / "daily")) == 1
