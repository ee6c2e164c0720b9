"""Fan-out benchmark: 1,500 alerts due at once, Telegram enforcing 30 messages/s.

    python -m bench.fanout [--alerts 1500] [--rate 30]

The Telegram simulator enforces the flood limit (30 messages/s overall, 1/s per chat) and
answers 429 with retry_after beyond it. The production outbox sender drains the alerts
through the production bot (every send paced by bot/pacing.py). Prints the delivery
time against the floor of alerts / rate, and the lost and duplicated messages.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from cryptography.fernet import Fernet

from bench.harness import peak_rss_mb
from bot.app import build_application, running
from bot.logs import setup_logging
from bot.services import SERVICES_KEY
from core.config import load_settings
from core.plans import Plan
from core.signals.model import Direction, Level, Signal
from core.storage.repo import PollWrite
from sim.telegram import FloodLimits, TelegramSim

FIRST_USER = 5_000_000


def alert_payload(coin: str) -> dict:
    signal = Signal(
        id="liquidation_cascade", coin=coin, level=Level.HIGH, direction=Direction.BEARISH,
        title="Long liquidation cascade: $95.2M in 1h",
        text="$95.2M of long positions were liquidated in the last 1h (shorts: $4.3M), above "
             "the $50.0M threshold.", confidence=0.9, values={"long_usd": 95.2e6},
    )
    return {"signals": [signal.to_dict()], "triggers": {signal.id: "new"}, "regime": None,
            "summary": {"coin": coin, "missing": {}, "not_in_plan": [],
                        "liquidations": {"window": "1h", "long_usd": 95.2e6, "short_usd": 4.3e6}},
            "unevaluated": {}}


async def alert_lengths() -> dict:
    """The demo's ETH cascade as alerts show it now (brief) and as they did before (every
    figure and explanation, now behind Details): characters and lines."""
    from bot.alert_texts import alert_brief, alert_details
    from core.budget import plan_budget
    from core.coinglass.client import CoinGlassClient, make_http_client
    from core.evaluation import Prefs, decide_coin
    from core.snapshot import SnapshotBuilder
    from core.storage.repo import OutboxItem
    from core.summary import summarize
    from sim.coinglass import CoinGlassSim
    sim = CoinGlassSim(refresh_scale=0)
    sim.add_key("fanout-length-key-0000000001", "professional")
    await sim.start()
    http = make_http_client()
    try:
        builder = SnapshotBuilder(CoinGlassClient(http, sim.base_url))
        sim.market.scenario("cascade", "ETH")
        batch = await builder.build("fanout-length-key-0000000001",
                                    plan_budget(Plan.PROFESSIONAL, 1), ["ETH"], complete=True)
        snap = batch.snapshots["ETH"]
        result = decide_coin(snap, Prefs(), {}, time.time())
        item = OutboxItem(id=1, user_id=1, coin="ETH", kind="alert",
                          level=int(result.decision.level), payload={
                              "signals": [x.to_dict() for x in result.decision.signals],
                              "triggers": dict(result.decision.triggers),
                              "regime": (result.evaluation.regime.to_dict()
                                         if result.evaluation.regime else None),
                              "summary": summarize(snap),
                              "unevaluated": dict(result.evaluation.unevaluated)},
                          created_at=time.time(), attempts=0)
        brief = alert_brief(item, time.time())
        details = alert_details(item, time.time())
        return {"brief_chars": len(brief), "brief_lines": brief.count("\n") + 1,
                "details_chars": len(details), "details_lines": details.count("\n") + 1,
                "first_line": brief.split("\n", 1)[0]}
    finally:
        await http.aclose()
        await sim.stop()


async def measure(alerts: int, rate: float, folder: Path) -> dict:
    tg = TelegramSim(flood=FloodLimits(global_per_second=int(rate), private_per_second=1))
    await tg.start()
    settings = load_settings({
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url,
        "COINGLASS_BASE_URL": "http://127.0.0.1:9", "DATABASE_PATH": str(folder / "fanout.db"),
        "PERPWATCH_SECRET_KEY": Fernet.generate_key().decode(), "COINGLASS_WS_URL": "off",
    }, env_file=None)
    app = build_application(settings)
    try:
        async with running(app, poll_timeout=1):
            svc = app.bot_data[SERVICES_KEY]
            users = range(FIRST_USER, FIRST_USER + alerts)
            for user in users:
                tg.user_sends(user, "/start")               # the chat exists, as for any user
            await tg.wait_until(lambda: tg.sent_count() >= alerts, timeout=600)
            sends_before = len(tg.calls_to("sendMessage"))
            with svc.repo.db.atomic():
                for user in users:
                    svc.repo.commit_poll(user, PollWrite(alerts=[{
                        "kind": "alert", "coin": "ETH", "level": int(Level.HIGH),
                        "payload": alert_payload("ETH")}]))
            started = time.perf_counter()
            svc.sender.wake()
            # A user asks for /status in the middle of the fan-out.
            await asyncio.sleep(alerts / rate / 2)
            asked = time.perf_counter()
            tg.user_sends(FIRST_USER - 1, "/status")
            await tg.wait_for_message(FIRST_USER - 1, "Key", timeout=60)
            status_reply_s = time.perf_counter() - asked
            while svc.repo.overview()["pending_alerts"]:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
            per_chat = [sum(1 for m in tg.messages(user)
                            if m.text.startswith("🔴 ETH")) for user in users]
            calls = tg.calls_to("sendMessage")[sends_before:]
        figures = {
            "alerts": alerts, "rate": rate, "delivery_s": round(elapsed, 2),
            "floor_s": round(alerts / rate, 2),
            "ratio_to_floor": round(elapsed / (alerts / rate), 3),
            "lost": sum(1 for n in per_chat if n == 0),
            "duplicated": sum(n - 1 for n in per_chat if n > 1),
            "telegram_429": sum(1 for c in calls if c.error_code == 429),
            "status_reply_s": round(status_reply_s, 2),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
        figures.update(await alert_lengths())
        return figures
    finally:
        await tg.stop()


def main(argv: list[str] | None = None) -> dict:
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m bench.fanout")
    parser.add_argument("--alerts", type=int, default=1500)
    parser.add_argument("--rate", type=float, default=30.0)
    args = parser.parse_args(argv)
    setup_logging("WARNING")
    with tempfile.TemporaryDirectory(prefix="perpwatch-fanout-") as folder:
        figures = asyncio.run(measure(args.alerts, args.rate, Path(folder)))
    print(f"fan-out: {figures['alerts']} alerts due at once, Telegram limited to "
          f"{figures['rate']:g} messages/s")
    print(f"  delivery time          {figures['delivery_s']:8.2f} s (floor {figures['floor_s']} s,"
          f" ratio {figures['ratio_to_floor']}, target ≤ 1.1)")
    print(f"  lost                   {figures['lost']:8d}   (target 0)")
    print(f"  duplicated             {figures['duplicated']:8d}   (target 0)")
    print(f"  Telegram 429 answers   {figures['telegram_429']:8d}   (target 0)")
    print(f"  /status mid-fan-out    {figures['status_reply_s']:8.2f} s  (target ≤ 2)")
    print(f"  the demo's cascade alert: {figures['brief_chars']} characters, "
          f"{figures['brief_lines']} lines (Details: {figures['details_chars']} characters, "
          f"{figures['details_lines']} lines, what every alert used to be)")
    print(f"  first line: {figures['first_line'].replace('<b>', '').replace('</b>', '')}")
    print(f"  peak RSS               {figures['peak_rss_mb']:8.1f} MB")
    return figures


if __name__ == "__main__":
    main()
