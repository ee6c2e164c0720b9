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
                 "ETH snapshot", "🔴 ETH", "Long liquidation cascade", "Not financial advice",
                 "you › /position ETH long", "Guarding your ETH long",
                 "🛡 ETH long: consider an early exit"):
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


class Terminal:
    """``python -m bot --demo`` on a pseudo-terminal, as a newcomer types into it."""

    def __init__(self, tmp_path: Path):
        import pty

        master, slave = pty.openpty()
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
               "TMPDIR": str(tmp_path)}
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "--demo"], cwd=tmp_path,
                                     env=env, stdin=slave, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        os.close(slave)
        self.master = master
        self.output = ""

    def type(self, line: str) -> int:
        """Type ``line`` and Enter; returns where the answer starts in :attr:`output`."""
        self.read()
        start = len(self.output)
        os.write(self.master, line.encode() + b"\n")
        return start

    def read(self, wait: float = 0.0) -> None:
        import select

        while select.select([self.proc.stdout], [], [], wait)[0]:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return
            self.output += chunk.decode("utf-8", "replace")
            wait = 0.0

    def wait_for(self, text: str, since: int = 0, timeout: float = 30.0) -> str:
        import time

        deadline = time.monotonic() + timeout
        while text not in self.output[since:]:
            assert self.proc.poll() is None, f"the demo exited {self.proc.returncode}:\n{self.output}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output[since:]}"
            self.read(0.1)
        return self.output[since:]

    def close(self) -> int:
        try:
            os.write(self.master, b"!quit\n")
            code = self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            os.close(self.master)
        self.read()
        return code


def test_nonsense_old_buttons_and_unknown_coins_never_crash_the_demo(tmp_path):
    import re

    term = Terminal(tmp_path)
    try:
        term.wait_for("perpwatch offline demo")
        for line, answer in [
            ("!press 99", "there are no buttons yet"),
            ("!", "I don't understand '!'"),
            ("!cascade NOPE", "the simulated market has no NOPE"),
            ("!press abc", "I don't understand '!press abc'"),
            ("!dance", "Demo commands: !cascade COIN"),
        ]:
            term.wait_for(answer, since=term.type(line))
        term.type("")                                           # an empty line: nothing
        term.wait_for("Welcome", since=term.type("/start"))
        menu = term.wait_for("Thresholds]", since=term.type("/settings"))
        number = re.search(r"\[(\d+): Thresholds\]", menu).group(1)
        # Thresholds redraws the menu in place: its old buttons are gone.
        term.wait_for("bot (edited)", since=term.type(f"!press {number}"))
        term.wait_for("is no longer there", since=term.type(f"!press {number}"))
        term.wait_for("there is no button 99", since=term.type("!press 99"))
        edited = term.output[term.output.rindex("bot (edited)"):]
        back = re.search(r"\[(\d+): « Back\]", edited).group(1)
        term.wait_for("bot (edited)", since=term.type(f"!press {back}"))  # new numbers work
        term.wait_for("Watching ETH", since=term.type("/subscribe ETH"))
        term.wait_for("alerts follow", since=term.type("!cascade eth"))
    finally:
        code = term.close()
    assert code == 0, term.output
    assert "Traceback" not in term.output and "Error" not in term.output
