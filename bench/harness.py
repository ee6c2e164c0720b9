"""Shared pieces of the benchmarks: a CoinGlass simulator in its own process, a filled database."""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from core.plans import Plan
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import Repository

ROOT = Path(__file__).resolve().parents[1]


class CoinGlassProcess:
    """``python -m sim.coinglass`` on a free loopback port, so its CPU is not the bot's."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.base_url = ""

    def __enter__(self) -> CoinGlassProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", "sim.coinglass", "--port", "0"],
                                     cwd=ROOT, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.base_url = line.strip().rsplit(" ", 1)[-1]
        if not self.base_url.startswith("http"):
            raise RuntimeError(f"simulator did not start: {line!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)

    async def add_keys(self, keys: list[str], plan: str) -> None:
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            for start in range(0, len(keys), 50):
                await asyncio.gather(*(http.post("/_sim/keys", json={"key": k, "plan": plan})
                                       for k in keys[start:start + 50]))

    async def stats(self) -> dict:
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            return (await http.get("/_sim/stats")).json()

    async def inject_latency(self, seconds: float) -> None:
        """Answer every request ``seconds`` later, like a real network round trip."""
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            await http.post("/_sim/faults", json={"kind": "latency", "seconds": seconds})

    async def reset_counters(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            await http.post("/_sim/reset-counters", json={})


def temp_repository() -> tuple[Repository, tempfile.TemporaryDirectory]:
    folder = tempfile.TemporaryDirectory(prefix="perpwatch-bench-")
    db = open_database(Path(folder.name) / "bench.db")
    return Repository(db, KeyVault(Fernet.generate_key().decode())), folder


def add_subscribers(repo: Repository, first_id: int, keys: list[str], coins: list[str],
                    plan: Plan) -> list[int]:
    """One user per key, each with ``coins`` and a valid key of ``plan``."""
    ids = []
    with repo.db.atomic():
        for offset, key in enumerate(keys):
            user_id = first_id + offset
            repo.ensure_user(user_id)
            repo.store_key(user_id, key, plan, plan.info.per_minute, None)
            repo.add_coins(user_id, coins)
            ids.append(user_id)
    return ids


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def dump(figures: dict) -> str:
    return json.dumps(figures, indent=2)
