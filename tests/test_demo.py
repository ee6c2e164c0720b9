"""The offline demo runs as a newcomer would run it: no token, no terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bot(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def test_demo_tour_shows_the_cascade_alert_and_exits_0(tmp_path):
    result = run_bot(tmp_path, "--demo")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for step in ("you › /start", "you › /setkey", "Key saved", "you › /subscribe ETH",
                 "ETH snapshot", "🔴 ETH", "Long liquidation cascade", "Not financial advice"):
        assert step in out, step
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []          # the demo leaves nothing behind


def test_without_a_token_says_so_in_one_line_then_plays_the_demo(tmp_path):
    result = run_bot(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert "No TELEGRAM_BOT_TOKEN" in first and "@BotFather" in first
    assert "🔴 ETH" in result.stdout


def test_malformed_setting_stops_with_one_line(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
           "POLL_INTERVAL_SECONDS": "abc"}
    result = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "POLL_INTERVAL_SECONDS" in result.stderr and "Traceback" not in result.stderr
