"""``python -m bot``: load settings and run the bot, or the offline demo (SPEC §1, §9, §15).

    python -m bot                   the bot (long polling, or webhook when WEBHOOK_URL is set);
                                    without a token: one line, then the offline demo
    python -m bot --demo            the offline demo
    python -m bot backup PATH       a consistent copy of the database (and its key) while the
                                    bot runs; PATH may be a folder
    python -m bot healthcheck [URL] GET /healthz on PORT (or URL): exit 0 when healthy

Exit codes (every failure is one line on stderr, never the token):

    0  stopped by SIGTERM/SIGINT (or the demo ended)
    1  unexpected error (a bug: logged with its traceback, secrets scrubbed); a failed backup;
       an unhealthy or unreachable /healthz
    2  configuration: a malformed setting, a token Telegram rejects, a WEBHOOK_URL Telegram
       refuses, a DATABASE_PATH that cannot be opened
    3  another instance is receiving this bot's updates (Telegram's 409 Conflict)
    4  PORT cannot be opened

Telegram unreachable is not an exit: the bot says so in one line per attempt and keeps
retrying (1, 2, 4, 8, 15, 30, then every 60 s); /healthz answers 503 meanwhile.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bot.logs import setup_logging
from core.config import ConfigError, load_settings

NO_TOKEN = ("No TELEGRAM_BOT_TOKEN is set: create a bot with @BotFather in Telegram, put its token "
            "in .env (see .env.example), and run again. Starting the offline demo instead.")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="perpwatch Telegram bot")
    parser.add_argument("--demo", action="store_true",
                        help="run the offline demo against local simulators")
    commands = parser.add_subparsers(dest="command")
    saving = commands.add_parser("backup", help="copy the database (and its key) while the bot "
                                 "runs")
    saving.add_argument("path", type=Path, help="file to write, or a folder for a dated file")
    probing = commands.add_parser("healthcheck", help="exit 0 when /healthz answers 200")
    probing.add_argument("url", nargs="?", help="default: http://127.0.0.1:$PORT/healthz")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"perpwatch: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "healthcheck":
        from bot.probe import probe

        return probe(args.url or f"http://127.0.0.1:{settings.port}/healthz")
    setup_logging(settings.log_level, secrets=[settings.telegram_bot_token, settings.secret_key])
    if args.command == "backup":
        return _backup(settings, args.path)
    if args.demo or not settings.telegram_bot_token:
        if not args.demo:
            print(NO_TOKEN, flush=True)
        from bot.demo import run_demo

        return run_demo(settings)

    from bot.serve import EXIT_BUG, serve

    try:
        return serve(settings)
    except Exception:
        logging.getLogger("bot").exception("perpwatch stopped on an unexpected error")
        return EXIT_BUG


def _backup(settings, path: Path) -> int:
    from bot.backup import BackupError, backup

    try:
        result = backup(settings, path)
    except BackupError as exc:
        print(f"perpwatch backup: {exc}", file=sys.stderr)
        return 1
    for line in result.describe():
        print(line, file=sys.stderr if line.startswith("Warning") else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
