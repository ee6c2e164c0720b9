"""Run the Telegram simulator by hand: ``python -m sim.telegram --port 8081``.

Point the bot at it with ``TELEGRAM_API_BASE_URL=http://127.0.0.1:8081/bot`` and the same token.
Lines typed here are sent as the user's messages; ``!press MESSAGE_ID DATA`` taps a button.
The bot's messages are printed as they are sent or edited. Telegram's flood limits apply unless
``--no-flood`` is given. Ctrl-C stops.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import threading

from .flood import FloodLimits
from .models import BotMessage
from .server import TelegramSim


def _print_message(msg: BotMessage) -> None:
    state = "deleted" if msg.deleted else f"edited x{msg.edited}" if msg.edited else "sent"
    kind = " photo" if msg.photo else ""
    print(f"\n[bot #{msg.message_id} {state}{kind}] {msg.text}", flush=True)
    for row in msg.buttons:
        print("   " + "  ".join(f"[{text} → {data}]" for text, data in row), flush=True)


async def _run(args: argparse.Namespace) -> None:
    flood = None if args.no_flood else FloodLimits.telegram()
    tg = TelegramSim(token=args.token, flood=flood, host=args.host, port=args.port)
    await tg.start()
    tg.add_listener(_print_message)
    print(
        f"Telegram simulator at {tg.base_url} (token {args.token}); user id {args.user_id}",
        flush=True,
    )
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read_stdin() -> None:  # a daemon thread, so Ctrl-C never waits for a pending readline
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n"))

    threading.Thread(target=read_stdin, daemon=True).start()
    try:
        while True:
            line = await lines.get()
            if line.startswith("!press "):
                _, message_id, data = line.split(" ", 2)
                try:
                    tg.user_presses(args.user_id, int(message_id), data)
                except ValueError as exc:
                    print(exc)
            elif line:
                tg.user_sends(args.user_id, line)
    finally:
        await tg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sim.telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--user-id", type=int, default=1001)
    parser.add_argument("--no-flood", action="store_true", help="admit every send")
    try:
        asyncio.run(_run(parser.parse_args()))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
