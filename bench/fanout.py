"""Fan-out benchmark: 1,500 alerts due at once, Telegram enforcing 30 messages/s.

    python -m bench.fanout [--alerts 1500] [--rate 30]

The Telegram simulator enforces the flood limit (30 messages/s overall, 1/s per chat) and
answers 429 with retry_after beyond it. The production outbox sender drains the alerts
through the production bot (python-telegram-bot with its AIORateLimiter). Prints the delivery
time against the floor of alerts / rate, and the lost and duplicated messages.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from cryptography.fernet import Fernet

from bench.harness import peak_rss_mb
from bot.app import build_application
from bot.logs import setup_logging
from bot.services import SERVICES_KEY
from core.config import load_settings
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


async def measure(alerts: int, rate: float, folder: Path) -> dict:
    tg = TelegramSim()
    await tg.start()
    settings = load_settings({
        "TELEGRAM_BOT_TOKEN": tg.token, "TELEGRAM_API_BASE_URL": tg.base_url,
        "COINGLASS_BASE_URL": "http://127.0.0.1:9", "COINGLASS_WS_URL": "off",
        "DATABASE_PATH": str(folder / "fanout.db"),
        "PERPWATCH_SECRET_KEY": Fernet.generate_key().decode(),
    }, env_file=None)
    app = build_application(settings)
    await app.initialize()
    await app.post_init(app)          # services as in production; jobs are not started
    try:
        svc = app.bot_data[SERVICES_KEY]
        users = range(FIRST_USER, FIRST_USER + alerts)
        for user in users:
            tg.user_sends(user, "/start")               # the chat exists, as for any user
            svc.repo.ensure_user(user)
        with svc.repo.db.atomic():
            for user in users:
                svc.repo.commit_poll(user, PollWrite(alerts=[{
                    "kind": "alert", "coin": "ETH", "level": int(Level.HIGH),
                    "payload": alert_payload("ETH")}]))
        tg.set_flood(FloodLimits(global_per_second=int(rate), private_per_second=1))
        sends_before = len(tg.calls_to("sendMessage"))
        started = time.perf_counter()
        while svc.repo.overview()["pending_alerts"]:
            await svc.sender.drain(app.bot)
        elapsed = time.perf_counter() - started
        per_chat = [len([m for m in tg.messages(user) if "🔴 ETH" in m.text])
                    for user in users]
        calls = tg.calls_to("sendMessage")[sends_before:]
        return {
            "alerts": alerts, "rate": rate, "delivery_s": round(elapsed, 2),
            "floor_s": round(alerts / rate, 2),
            "ratio_to_floor": round(elapsed / (alerts / rate), 3),
            "lost": sum(1 for n in per_chat if n == 0),
            "duplicated": sum(n - 1 for n in per_chat if n > 1),
            "telegram_429": sum(1 for c in calls if c.error_code == 429),
            "peak_rss_mb": round(peak_rss_mb(), 1),
        }
    finally:
        await app.shutdown()
        await app.post_shutdown(app)
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
    print(f"  Telegram 429 answers   {figures['telegram_429']:8d}")
    print(f"  peak RSS               {figures['peak_rss_mb']:8.1f} MB")
    return figures


if __name__ == "__main__":
    main()
