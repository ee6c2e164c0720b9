"""``python -m bot``: load settings and run the bot, or the offline demo (SPEC §1, §9)."""

from __future__ import annotations

import argparse
import logging
import sys

from bot.logs import setup_logging
from core.config import ConfigError, load_settings

NO_TOKEN = ("No TELEGRAM_BOT_TOKEN is set: create a bot with @BotFather in Telegram, put its token "
            "in .env (see .env.example), and run again. Starting the offline demo instead.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description="perpwatch Telegram bot")
    parser.add_argument("--demo", action="store_true",
                        help="run the offline demo against local simulators")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"perpwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, secrets=[settings.telegram_bot_token, settings.secret_key])
    if args.demo or not settings.telegram_bot_token:
        if not args.demo:
            print(NO_TOKEN, flush=True)
        from bot.demo import run_demo

        return run_demo(settings)

    from bot.app import build_application

    app = build_application(settings)
    logging.getLogger("bot").info("polling Telegram for updates (Ctrl-C or SIGTERM stops)")
    app.run_polling(allowed_updates=["message", "callback_query", "my_chat_member"],
                    drop_pending_updates=False, close_loop=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
