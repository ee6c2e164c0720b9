"""Webhook benchmark: the bot's aiohttp webhook server against python-telegram-bot's own
(tornado), and webhook against long polling end to end.

    python -m bench.webhook [--updates 3000] [--concurrency 20] [--users 40]

1. Server alone: ``--updates`` webhook POSTs (a /help message each, with the secret header)
   from ``--concurrency`` connections (Telegram's default ``max_connections`` is 40) into
   each server; both put the parsed Update into an ``asyncio.Queue``, as the Application's
   ``update_queue``. Prints requests/s, latency percentiles and CPU per request (client and
   server share the process, so compare the two rows, not the absolute CPU). PTB's server
   needs tornado (its ``webhooks`` extra), which perpwatch does not install: that row is
   skipped unless tornado is importable (``PYTHONPATH=/path/to/tornado``).
2. End to end: the production runner against the Telegram simulator (Telegram's flood
   windows on), in polling mode and in webhook mode; ``--users`` users each send /help once,
   one after another; the time from the user's message to the bot's reply.
3. What importing tornado adds to a process that has already imported what the bot
   imports anyway (python-telegram-bot, aiohttp, httpx): time and RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet

from bot.app import build_application
from bot.logs import setup_logging
from core.config import load_settings
from sim.telegram import TelegramSim
from tests.ops_support import free_port, serving

SECRET = "bench-secret-token-0123456789abcdefghijkl"
PATH = "/telegram"


def update_body(i: int) -> bytes:
    user = 7_000_000 + i % 500
    return json.dumps({"update_id": i + 1, "message": {
        "message_id": i + 1, "date": 1_700_000_000, "text": "/help",
        "from": {"id": user, "is_bot": False, "first_name": "Bench"},
        "chat": {"id": user, "type": "private", "first_name": "Bench"},
        "entities": [{"type": "bot_command", "offset": 0, "length": 5}]}}).encode()


async def drain(queue: asyncio.Queue) -> None:
    while True:
        await queue.get()


async def post_all(url: str, updates: int, concurrency: int) -> dict:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(updates))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            for i in counter:
                started = time.perf_counter()
                async with session.post(url, data=update_body(i), headers=headers) as answer:
                    await answer.read()
                    statuses[answer.status] = statuses.get(answer.status, 0) + 1
                latencies.append(time.perf_counter() - started)

        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    latencies.sort()
    return {"rps": updates / wall, "p50": latencies[len(latencies) // 2] * 1e3,
            "p99": latencies[int(len(latencies) * 0.99)] * 1e3,
            "cpu_ms": cpu / updates * 1e3, "statuses": statuses}


async def server_alone(updates: int, concurrency: int) -> list[tuple[str, dict]]:
    from bot.health import HealthMonitor
    from bot.web import WebServer, Webhook

    settings = load_settings({"TELEGRAM_BOT_TOKEN": "123456:BENCH-TOKEN"}, env_file=None)
    app = build_application(settings)          # its bot and update_queue; not started
    rows = []
    consumer = asyncio.create_task(drain(app.update_queue))
    server = WebServer(app, HealthMonitor(app), port=0, host="127.0.0.1",
                       webhook=Webhook(PATH, SECRET))
    await server.start()
    await post_all(f"http://127.0.0.1:{server.port}{PATH}", 200, concurrency)     # warm up
    rows.append(("perpwatch (aiohttp, bot/web.py)",
                 await post_all(f"http://127.0.0.1:{server.port}{PATH}", updates, concurrency)))
    await server.stop()
    try:
        from telegram.ext._utils.webhookhandler import WebhookAppClass, WebhookServer
    except ImportError:
        rows.append(("python-telegram-bot (tornado)", {}))
    else:
        port = free_port()
        tornado_server = WebhookServer("127.0.0.1", port,
                                       WebhookAppClass(PATH, app.bot, app.update_queue, SECRET),
                                       None, None)
        ready = asyncio.Event()
        serve = asyncio.create_task(tornado_server.serve_forever(ready))
        await ready.wait()
        await post_all(f"http://127.0.0.1:{port}{PATH}", 200, concurrency)
        rows.append(("python-telegram-bot (tornado)",
                     await post_all(f"http://127.0.0.1:{port}{PATH}", updates, concurrency)))
        await tornado_server.shutdown()
        await serve
    consumer.cancel()
    return rows


async def end_to_end(mode: str, users: int) -> list[float]:
    async with TelegramSim() as tg:
        with tempfile.TemporaryDirectory() as folder:
            port = free_port()
            env = {"TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url,
                   "COINGLASS_BASE_URL": "http://127.0.0.1:9", "PORT": str(port),
                   "DATABASE_PATH": str(Path(folder) / "bench.db"),
                   "PERPWATCH_SECRET_KEY": Fernet.generate_key().decode()}
            if mode == "webhook":
                env["WEBHOOK_URL"] = f"http://127.0.0.1:{port}{PATH}"
            async with serving(load_settings(env, env_file=None)):
                latencies = []
                for i in range(users):
                    user = 8_000_000 + i
                    started = time.perf_counter()
                    tg.user_sends(user, "/help")
                    await tg.wait_for_message(user, timeout=15)
                    latencies.append((time.perf_counter() - started) * 1e3)
    return latencies


def import_cost() -> tuple[float, float] | None:
    """(ms, MB of RSS) that tornado on the path adds to ``import telegram.ext``, which loads
    PTB's webhook server whenever tornado is importable; None without tornado."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("tornado")
    if spec is None:
        return None
    tornado_dir = str(Path(spec.origin).parent.parent)
    probe = ("import time\n"
             "def rss(): return int([l for l in open('/proc/self/status') "
             "if l.startswith('VmRSS')][0].split()[1]) / 1024\n"
             "import aiohttp, httpx\n"
             "r0 = rss(); t = time.perf_counter(); import telegram.ext\n"
             "print((time.perf_counter() - t) * 1e3, rss() - r0)")
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    figures = []
    for with_tornado in (True, False):
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            paths if with_tornado else [p for p in paths if p != tornado_dir]))
        runs = [tuple(map(float, subprocess.run([sys.executable, "-c", probe], env=env,
                                                capture_output=True, text=True,
                                                check=True).stdout.split()))
                for _ in range(5)]
        figures.append((statistics.median(r[0] for r in runs),
                        statistics.median(r[1] for r in runs)))
    (ms_with, mb_with), (ms_without, mb_without) = figures
    return ms_with - ms_without, mb_with - mb_without


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook")
    parser.add_argument("--updates", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--users", type=int, default=40)
    args = parser.parse_args(argv)
    setup_logging("ERROR")

    print(f"webhook server alone: {args.updates} updates, {args.concurrency} connections")
    print(f"  {'server':34} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10}")
    for name, row in asyncio.run(server_alone(args.updates, args.concurrency)):
        if not row:
            print(f"  {name:34} (tornado not importable: skipped)")
            continue
        assert set(row["statuses"]) == {200}, row["statuses"]
        print(f"  {name:34} {row['rps']:7.0f} {row['p50']:7.2f} {row['p99']:7.2f} "
              f"{row['cpu_ms']:10.3f}")

    print(f"\nend to end, /help → reply, {args.users} users one after another")
    for mode in ("polling", "webhook"):
        lat = sorted(asyncio.run(end_to_end(mode, args.users)))
        print(f"  {mode:8} median {statistics.median(lat):6.1f} ms   "
              f"p95 {lat[int(len(lat) * 0.95)]:6.1f} ms   max {lat[-1]:6.1f} ms")

    cost = import_cost()
    if cost is None:
        print("\ntornado: not installed (perpwatch does not need it)")
    else:
        print(f"\ntornado on the path adds to `import telegram.ext`: {cost[0]:.0f} ms, "
              f"{cost[1]:+.1f} MB RSS")


if __name__ == "__main__":
    main()
