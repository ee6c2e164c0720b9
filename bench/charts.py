"""Chart benchmark: render time and PNG size on one core, then a burst of /chart requests.

    python -m bench.charts [--charts 200] [--burst 50] [--render process,thread]

1. Render: chart data for every plan × window (and the Professional liquidation map) over
   several coins, fetched once from the CoinGlass simulator, then ``--charts`` pictures drawn
   one after another on one CPU core (build the figure + PNG, as the worker does). Prints ms
   per chart (median, p90, max) and PNG size.
2. Burst: the production bot (``python -m bot``'s Application, in its own process) between the
   Telegram and CoinGlass simulators; ``--burst`` users, each with their own key, send /chart
   at the same moment while one more user keeps asking /status. Prints the peak RSS of the
   whole bot (its process plus the render worker, sampled every 20 ms), the /status reply
   times during the burst and how long the charts took. Run once per ``--render`` mode:
   ``process`` (production: one worker process) and ``thread`` (for comparison).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "HYPE", "SUI")
WINDOWS = ("6h", "24h", "3d", "7d")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- 1. render time on one core ------------------------------------------------------------

async def _datasets() -> list:
    from core.charts.data import ChartFetcher
    from core.charts.model import resolution
    from core.coinglass.client import CoinGlassClient, make_http_client
    from core.plans import Plan
    from sim.coinglass import CoinGlassSim

    sim = CoinGlassSim()
    for plan in Plan:
        # a generous limit: this part measures drawing, not the key's budget
        sim.add_key(f"bench-{plan.name.lower()}-key-0000000", plan.name.lower(), max_limit=100_000)
    for name, coin in (("cascade", "ETH"), ("squeeze", "SOL"), ("top", "DOGE")):
        sim.market.scenario(name, coin)
    await sim.start()
    http = make_http_client()
    fetcher = ChartFetcher(CoinGlassClient(http, sim.base_url))
    found = []
    try:
        for coin in COINS:
            for plan in Plan:
                key = f"bench-{plan.name.lower()}-key-0000000"
                for window in WINDOWS:
                    found.append(await fetcher.chart(key, plan, coin, resolution(plan, window),
                                                     per_minute=100_000))
                if plan == Plan.PROFESSIONAL:
                    found.append(await fetcher.liquidation_map(key, plan, coin,
                                                               per_minute=100_000))
    finally:
        await http.aclose()
        await sim.stop()
    return found


def render_figures(count: int) -> dict:
    """``count`` charts drawn one by one on one core."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    datasets = asyncio.run(_datasets())
    started = time.perf_counter()
    from core.charts import render  # noqa: F401  (what the worker imports first)
    import_s = time.perf_counter() - started
    from core.charts.executor import worker_init, worker_render
    from core.charts.model import ChartThresholds, MapData, RenderJob
    from core.thresholds import PRESETS

    worker_init()                     # exactly what the render worker runs, in this process
    presets = [ChartThresholds.from_values(values) for values in PRESETS.values()]
    times, sizes, maps = [], [], 0
    for i in range(count):
        data = datasets[i % len(datasets)]
        maps += isinstance(data, MapData)
        job = RenderJob(data, presets[i % len(presets)])
        t0 = time.perf_counter()
        png = worker_render(job)
        times.append((time.perf_counter() - t0) * 1000)
        sizes.append(len(png) / 1024)
    return {"charts": count, "maps": maps, "import_s": round(import_s, 2),
            "ms_median": round(statistics.median(times)), "ms_p90": round(_pct(times, 0.9)),
            "ms_max": round(max(times)), "kb_median": round(statistics.median(sizes)),
            "kb_max": round(max(sizes))}


# --- 2. a burst of /chart requests against the bot in its own process ----------------------

def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        return str(pid)
    text = " ".join(w for w in words if w)
    if "bench.charts --serve-bot" in text:
        return "bot"
    if "resource_tracker" in text:
        return "resource tracker"
    if "spawn_main" in text:
        return "render worker"
    return text[:40]


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except OSError:
            continue
    return pids


class RssSampler(threading.Thread):
    """The summed RSS of a process tree, sampled every ``period`` seconds; keeps the peak."""

    def __init__(self, pid: int, period: float = 0.02):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.peak_kb = 0
        self.peak_processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pids = _tree(self.pid)
            total = sum(_rss_kb(p) for p in pids)
            if total > self.peak_kb:
                self.peak_kb, self.peak_processes = total, len(pids)
            self._stop_event.wait(self.period)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def serve_bot(render_mode: str) -> None:
    """The bot as ``python -m bot`` runs it, with the chart renderer in ``render_mode``."""
    from bot.app import build_application
    from bot.handlers.chart import CHARTS_KEY
    from bot.logs import setup_logging
    from bot.services import SERVICES_KEY
    from core.charts import ChartRenderer, ChartService
    from core.config import load_settings

    settings = load_settings()
    setup_logging("WARNING")
    app = build_application(settings)
    original_init, original_shutdown = app.post_init, app.post_shutdown
    stalls: list[tuple[float, float]] = []        # (wall time, how late the loop woke up)

    async def heartbeat() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.005)
            late = time.perf_counter() - before - 0.005
            if late > 0.002:
                stalls.append((time.time(), late))

    async def post_init(application) -> None:
        await original_init(application)
        svc = application.bot_data[SERVICES_KEY]
        application.bot_data[CHARTS_KEY] = ChartService(
            svc.coinglass, renderer=ChartRenderer(mode=render_mode), clock=svc.clock)
        application.create_task(heartbeat())

    async def post_shutdown(application) -> None:
        await original_shutdown(application)
        Path(os.environ["BENCH_STALLS_FILE"]).write_text(json.dumps(stalls))

    app.post_init = post_init
    app.post_shutdown = post_shutdown
    app.run_polling(allowed_updates=["message", "callback_query"], close_loop=False)


async def _burst(render_mode: str, users: int, folder: Path) -> dict:
    from cryptography.fernet import Fernet

    from core.plans import Plan
    from sim.coinglass import CoinGlassSim
    from sim.telegram import TelegramSim

    plans = [Plan.STARTUP, Plan.STANDARD, Plan.PROFESSIONAL, Plan.HOBBYIST]
    cg, tg = CoinGlassSim(), TelegramSim()
    keys = {}
    for i in range(users + 1):
        keys[7_000_000 + i] = f"bench-chart-key-{i:06d}-000000"
        cg.add_key(keys[7_000_000 + i], plans[i % len(plans)].name.lower())
    await cg.start()
    await tg.start()
    env = {
        "PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url,
        "COINGLASS_BASE_URL": cg.base_url, "COINGLASS_WS_URL": "off",
        "DATABASE_PATH": str(folder / "bench.db"),
        "PERPWATCH_SECRET_KEY": Fernet.generate_key().decode(), "LOG_LEVEL": "WARNING",
        "BENCH_STALLS_FILE": str(folder / "stalls.json"),
    }
    log = open(folder / "bot.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bench.charts", "--serve-bot", render_mode],
                            cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        await tg.wait_until(lambda: tg.is_polling, timeout=60)
        ids = list(keys)
        chart_users, probe = ids[:users], ids[users]
        for start in range(0, len(ids), 25):
            batch = ids[start:start + 25]
            for user in batch:
                tg.user_sends(user, f"/setkey {keys[user]}")
            for user in batch:
                await tg.wait_for_message(user, "Key saved", timeout=60)
        idle_kb = sum(_rss_kb(p) for p in _tree(proc.pid))
        sampler = RssSampler(proc.pid)
        sampler.start()
        started, burst_from = time.perf_counter(), time.time()
        asked = {}
        for n, user in enumerate(chart_users):
            asked[user] = max((m.message_id for m in tg.messages(user)), default=0)
            tg.user_sends(user, f"/chart {COINS[n % len(COINS)]} {WINDOWS[n % len(WINDOWS)]}")
        status_times = []

        def photos_done() -> int:
            return sum(1 for u in chart_users
                       if any(m.photo and m.message_id > asked[u] for m in tg.messages(u)))

        while photos_done() < len(chart_users) and time.perf_counter() - started < 180:
            after = max((m.message_id for m in tg.messages(probe)), default=0)
            t0 = time.perf_counter()
            tg.user_sends(probe, "/status")
            await tg.wait_for_message(probe, "Key", after=after, timeout=30)
            status_times.append(time.perf_counter() - t0)
            await asyncio.sleep(0.25)
        total_s = time.perf_counter() - started
        burst_to = time.time()
        await asyncio.sleep(0.2)
        sampler.stop()
        peaks = {_name(p): round(_rss_kb(p, "VmHWM") / 1024) for p in _tree(proc.pid)}
        refused = sum(1 for u in chart_users
                      if not any(m.photo and m.message_id > asked[u] for m in tg.messages(u)))
        result = {
            "mode": render_mode, "users": users, "charts_s": round(total_s, 1),
            "not_drawn": refused, "idle_rss_mb": round(idle_kb / 1024),
            "peak_rss_mb": round(sampler.peak_kb / 1024), "processes": sampler.peak_processes,
            "status_probes": len(status_times),
            "status_median_s": round(statistics.median(status_times), 2),
            "status_max_s": round(max(status_times), 2),
            "status_series_s": [round(t, 2) for t in status_times],
            "coinglass_429": cg.count_429(), "process_peaks_mb": peaks,
        }
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        await tg.stop()
        await cg.stop()
    recorded = json.loads((folder / "stalls.json").read_text())
    timed = [(at - burst_from, late) for at, late in recorded if burst_from <= at <= burst_to]
    stalls = [late for _, late in timed]
    result["worst_stalls_at"] = [(round(t, 2), round(late * 1000)) for t, late in
                                 sorted(timed, key=lambda x: -x[1])[:5]]
    result["loop_stalls"] = {
        "over_50ms": sum(1 for s in stalls if s > 0.05),
        "over_100ms": sum(1 for s in stalls if s > 0.1),
        "max_ms": round(max(stalls, default=0.0) * 1000),
        "late_total_s": round(sum(stalls), 2)}
    return result


def burst(render_mode: str, users: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="perpwatch-charts-") as folder:
        return asyncio.run(_burst(render_mode, users, Path(folder)))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench.charts")
    parser.add_argument("--charts", type=int, default=200)
    parser.add_argument("--burst", type=int, default=50)
    parser.add_argument("--render", default="process,thread",
                        help="render modes to run the burst with, comma-separated")
    parser.add_argument("--serve-bot", metavar="MODE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bot:
        serve_bot(args.serve_bot)
        return {}
    from bot.logs import setup_logging
    setup_logging("WARNING")

    modes = [m.strip() for m in args.render.split(",") if m.strip()]
    figures: dict = {"bursts": [burst(mode, args.burst) for mode in modes]}
    # the one-core render pass last: it pins this process to one core
    if args.charts:
        figures["render"] = render_figures(args.charts)
        r = figures["render"]
        print(f"charts: {r['charts']} pictures ({r['maps']} liquidation maps) of every plan × "
              f"window, drawn one by one on one core")
        print(f"  ms per chart           median {r['ms_median']}, p90 {r['ms_p90']}, "
              f"max {r['ms_max']}   (target median ≤ 300)")
        print(f"  PNG size               median {r['kb_median']} KB, max {r['kb_max']} KB"
              f"   (target ≤ 200 KB)")
        print(f"  matplotlib import      {r['import_s']} s (in the render worker, once)")
    for b in figures["bursts"]:
        print(f"burst: {b['users']} users send /chart at once, another asks /status meanwhile "
              f"(render in a {b['mode']})")
        print(f"  peak RSS, whole bot    {b['peak_rss_mb']} MB over {b['processes']} process(es)"
              f" (idle {b['idle_rss_mb']} MB; target ≤ 250 MB)")
        print(f"  /status reply          median {b['status_median_s']} s, max "
              f"{b['status_max_s']} s over {b['status_probes']} asks (target ≤ 2 s)")
        print(f"  all charts sent in     {b['charts_s']} s ({b['not_drawn']} not drawn); "
              f"CoinGlass 429s {b['coinglass_429']}")
        st = b["loop_stalls"]
        print(f"  event loop stalls      max {st['max_ms']} ms, {st['over_50ms']} over 50 ms, "
              f"{st['over_100ms']} over 100 ms, {st['late_total_s']} s late in all "
              f"(the bot's loop during the burst)")
        print("  worst stalls (s into the burst, ms)  " + ", ".join(
            f"{t} s: {ms}" for t, ms in b["worst_stalls_at"][:3]))
        print("  peak RSS per process   " + ", ".join(
            f"{name} {mb} MB" for name, mb in b["process_peaks_mb"].items()))
    return figures


if __name__ == "__main__":
    main()
