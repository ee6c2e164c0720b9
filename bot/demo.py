"""The offline demo (SPEC §9): the real bot between a CoinGlass and a Telegram simulator.

Both simulators run in this process on 127.0.0.1; the bot is the same Application production
runs, configured through the same settings. The terminal plays the user's chat: what you type
is sent as your Telegram message, and the bot's replies and alerts are printed. With no
terminal on stdin it plays a short scripted tour and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Awaitable, Callable

from cryptography.fernet import Fernet

from bot.app import build_application, running
from bot.logs import setup_logging
from core.config import Settings
from sim.coinglass import CoinGlassSim
from sim.telegram import BotMessage, TelegramSim

DEMO_USER = 1001
DEMO_KEY = "demo-professional-key-0000000001"
DEMO_INTERVAL = 2
SCENARIOS = ("cascade", "squeeze", "top", "calm")

BANNER = """\
perpwatch offline demo — a simulated CoinGlass and a simulated Telegram, both on 127.0.0.1.
Type what you would send the bot, e.g. /start, /setkey {key}, /subscribe ETH, /snapshot ETH,
/chart ETH (pictures are saved as PNG files; their paths are printed), /position ETH long 3200
(the guard watches that position: try !cascade ETH after it).
Move the market with !cascade ETH, !squeeze BTC, !top SOL or !calm ETH; press a button with
!press N (its number as printed); quit with !quit or Ctrl-D."""

DEMO_COMMANDS = (f"Demo commands: {', '.join('!' + n + ' COIN' for n in SCENARIOS)}, "
                 "!press N, !quit; anything else is sent to the bot.")

TOUR = ("/start", f"/setkey {DEMO_KEY}", "/subscribe ETH", "/snapshot ETH", "/chart ETH")


def _print(text: str) -> None:
    print(text, flush=True)


class Chat:
    """Prints the bot's messages in the demo user's chat, as a chat app would show them.

    A photo is shown as its caption and size; with ``save_to`` (a terminal session) the PNG
    is saved there too and its path printed, so it can be opened."""

    def __init__(self, tg: TelegramSim, save_to: Path | None = None):
        self.tg = tg
        self.save_to = save_to
        self.buttons: list[tuple[int, str]] = []      # (message id, callback data) by number

    def show(self, message: BotMessage) -> None:
        if message.chat_id != DEMO_USER or message.deleted:
            return
        label = "bot (edited)" if message.edited else "bot"
        if message.photo and not message.edited:
            label = "bot (picture)"
            # The upload is recorded once this send completes: look it up right after.
            asyncio.get_running_loop().call_soon(self._show_photo, message.message_id)
        body = textwrap.indent(message.text, "    ")
        _print(f"\n{label} ›\n{body}")
        for row in message.buttons:
            shown = []
            for text, data in row:
                self.buttons.append((message.message_id, data))
                shown.append(f"[{len(self.buttons)}: {text}]")
            _print("    " + " ".join(shown))

    def _show_photo(self, message_id: int) -> None:
        upload = next((c.params.get("photo") for c in self.tg.calls_to("sendPhoto")
                       if c.ok and c.result and c.result.get("message_id") == message_id), None)
        data = getattr(upload, "data", None)
        if data is None:
            return
        note = f"    🖼 {getattr(upload, 'filename', 'chart.png')}: PNG, {len(data) // 1024} KB"
        if self.save_to is not None:
            self.save_to.mkdir(parents=True, exist_ok=True)
            path = self.save_to / f"{message_id}-{getattr(upload, 'filename', 'chart.png')}"
            path.write_bytes(data)
            note += f", saved to {path}"
        _print(note)

    def press(self, number: int) -> str | None:
        """Press button ``number`` as printed; None when done, else what went wrong."""
        if not self.buttons:
            return "there are no buttons yet: they appear under some of the bot's messages"
        if not 1 <= number <= len(self.buttons):
            return f"there is no button {number}: the buttons printed are 1–{len(self.buttons)}"
        message_id, data = self.buttons[number - 1]
        message = self.tg.message(DEMO_USER, message_id)
        if message is None or message.deleted:
            return f"button {number} was on a message that is gone"
        if not any(value == data for row in message.buttons for _, value in row):
            return (f"button {number} is no longer there: that message changed since; "
                    "press one of the numbers printed under its new version")
        self.tg.user_presses(DEMO_USER, message_id, data)
        return None


async def _say(tg: TelegramSim, text: str) -> None:
    _print(f"\nyou › {text}")
    tg.user_sends(DEMO_USER, text, first_name="Demo")


async def _tour(tg: TelegramSim, cg: CoinGlassSim) -> int:
    for step in TOUR:
        after = max((m.message_id for m in tg.messages(DEMO_USER)), default=0)
        await _say(tg, step)
        expect = "Key saved" if step.startswith("/setkey") else None
        photo = (lambda m: m.photo) if step.startswith("/chart") else None
        await tg.wait_for_message(DEMO_USER, expect, predicate=photo, timeout=30, after=after)
        await asyncio.sleep(0.5)
    # A position for the guard (SPEC §16): a long at about the price now.
    after = max((m.message_id for m in tg.messages(DEMO_USER)), default=0)
    await _say(tg, f"/position ETH long {round(cg.market.price('ETH'))}")
    await tg.wait_for_message(DEMO_USER, "Guarding", timeout=30, after=after)
    await asyncio.sleep(0.5)
    _print("\n— the market: ETH longs are crowded; price breaks down into a liquidation cascade —")
    cg.market.scenario("cascade", "ETH")
    first = await tg.wait_for_message(DEMO_USER, "🔴 ETH", timeout=60)
    if "live stream" in first.text:
        # The stream told the cascade first; the next polls add what else moved, once.
        with contextlib.suppress(TimeoutError):
            await tg.wait_for_message(DEMO_USER, " ETH ", timeout=25, after=first.message_id)
    await tg.wait_for_message(DEMO_USER, "🛡 ETH long", timeout=60)
    await asyncio.sleep(0.5)
    _print("\nThat is the alert a subscriber gets at 3 AM, and the guard's advice for the "
           "position they declared. Run `python -m bot --demo` in a terminal to drive the bot "
           "yourself.")
    return 0


async def _interactive(tg: TelegramSim, cg: CoinGlassSim, chat: Chat,
                       read_line: Callable[[], Awaitable[str]] | None = None) -> int:
    """The terminal plays the user's chat until !quit or end of input. Whatever is typed, the
    demo goes on: what it cannot do is said in one line."""
    _print(BANNER.format(key=DEMO_KEY))
    read_line = read_line or _stdin_line
    while True:
        line = await read_line()
        if not line:
            return 0
        line = line.strip()
        if not line:
            continue
        if line in ("!quit", "!exit", "!q"):
            return 0
        try:
            await _act(tg, cg, chat, line)
        except Exception as exc:    # the demo must survive anything typed: say it, go on
            _print(f"    (could not do that: {exc})")


async def _stdin_line() -> str:
    return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)


async def _act(tg: TelegramSim, cg: CoinGlassSim, chat: Chat, line: str) -> None:
    """One typed line: a demo command (``!…``) or a message to the bot."""
    if not line.startswith("!"):
        await _say(tg, line)
        return
    name, _, rest = line[1:].strip().partition(" ")
    name, rest = name.lower(), rest.strip()
    if name == "press":
        if not rest.isdigit():
            _print(f"    (I don't understand {line!r}: press a button with !press N, N as "
                   "printed in [N: …])")
            return
        problem = chat.press(int(rest))
        if problem:
            _print(f"    ({problem})")
        return
    if name in SCENARIOS:
        coin = (rest or "ETH").upper().lstrip("$")
        if not cg.market.has(coin):
            coins = ", ".join(sorted(cg.market.coins())[:12])
            _print(f"    (the simulated market has no {coin}: try one of {coins})")
            return
        cg.market.scenario(name, coin)
        _print(f"    (market: {name} on {coin}; alerts follow within a few seconds if you "
               "watch it)")
        return
    _print(f"    (I don't understand {line!r}. {DEMO_COMMANDS})")


async def _demo(settings: Settings, interactive: bool,
                read_line: Callable[[], Awaitable[str]] | None = None) -> int:
    cg = CoinGlassSim()
    cg.add_key(DEMO_KEY, "professional")
    tg = TelegramSim()
    await cg.start()
    await tg.start()
    charts = Path(tempfile.gettempdir()) / "perpwatch-demo-charts" if interactive else None
    chat = Chat(tg, save_to=charts)
    tg.add_listener(chat.show)
    try:
        with tempfile.TemporaryDirectory(prefix="perpwatch-demo-") as folder:
            demo_settings = replace(
                settings, telegram_bot_token=tg.token, telegram_api_base_url=tg.base_url,
                coinglass_base_url=cg.base_url, coinglass_ws_url=cg.ws_url,
                database_path=Path(folder) / "demo.db",
                secret_key=Fernet.generate_key().decode(), poll_interval_seconds=DEMO_INTERVAL,
                admin_user_ids=frozenset({DEMO_USER}), webhook_url=None, backup_dir=None,
            )
            async with running(build_application(demo_settings), poll_timeout=1):
                if interactive:
                    return await _interactive(tg, cg, chat, read_line)
                return await _tour(tg, cg)
    finally:
        await tg.stop()
        await cg.stop()


def run_demo(settings: Settings) -> int:
    """Run the demo: interactive on a terminal, the scripted tour otherwise."""
    if settings.log_level != "DEBUG":
        setup_logging("WARNING")                          # keep the chat readable
    interactive = sys.stdin is not None and sys.stdin.isatty()
    try:
        return asyncio.run(_demo(settings, interactive))
    except KeyboardInterrupt:
        return 0
    except TimeoutError as exc:
        _print(f"demo: the bot did not answer in time ({exc})")
        return 1
