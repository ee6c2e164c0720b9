"""No log line, from any logger through any handler, prints the bot token or a user's key."""

from __future__ import annotations

import io
import logging

import httpx
import pytest
from telegram import Bot
from telegram.error import InvalidToken, NetworkError

from bot.logs import REDACTOR, register_secret, setup_logging
from sim.telegram import TelegramSim

TOKEN = "7777777:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
SECRET_HALF = TOKEN.partition(":")[2]
CG_KEY = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def lines():
    """Production logging, plus a plain handler of someone else's (no formatter of ours)."""
    setup_logging("DEBUG", secrets=[TOKEN])
    stream = io.StringIO()
    foreign = logging.StreamHandler(stream)
    foreign.setFormatter(logging.Formatter("%(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(foreign)
    yield lambda: stream.getvalue()
    root.removeHandler(foreign)
    REDACTOR.clear()


def test_ptbs_invalid_token_traceback_is_scrubbed_for_every_handler(lines):
    log = logging.getLogger("anything")
    try:
        raise InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    except InvalidToken:
        log.exception("start-up failed")
    text = lines()
    assert "Traceback" in text                         # a bug's traceback is kept…
    assert TOKEN not in text and SECRET_HALF not in text   # …without the token
    assert "[redacted]" in text


@pytest.mark.parametrize("message", [
    f"HTTP Request: POST https://api.telegram.org/bot{TOKEN}/getUpdates",
    f"url-encoded: /bot7777777%3A{SECRET_HALF}/getMe",               # only the secret half
    "another bot's token: 12345678:AAEhBP0av28hXxr9Xq8pP0HZbZg6SuSm2AA",
    f"header CG-API-KEY: {CG_KEY}",
    f"wss://open-ws.coinglass.com/ws-api?cg-api-key={CG_KEY}&x=1",
    f"Update(message=Message(text='/setkey {CG_KEY}'))",
    f"a bare CoinGlass key {CG_KEY.upper()} in some library's message",
])
def test_secret_shapes_are_scrubbed(lines, message):
    logging.getLogger("httpx").warning("%s", message)
    text = lines()
    assert "[redacted]" in text
    for secret in (TOKEN, SECRET_HALF, CG_KEY, CG_KEY.upper(), "AAEhBP0av28hXxr9Xq8pP0HZbZg6SuSm2AA"):
        assert secret not in text


def test_a_secret_registered_at_run_time_is_scrubbed(lines):
    register_secret("webhook-secret-token-value-123")
    logging.getLogger("bot").info("posted with webhook-secret-token-value-123")
    assert "webhook-secret-token-value-123" not in lines()


def test_production_handler_prints_ptb_telegram_errors_in_one_line(capsys):
    setup_logging("INFO", secrets=[TOKEN])
    try:
        try:
            raise NetworkError(f"httpx.ConnectError at /bot{TOKEN}/getUpdates")
        except NetworkError:
            logging.getLogger("telegram.ext.Updater").exception("Exception while polling")
        err = capsys.readouterr().err
    finally:
        REDACTOR.clear()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "Exception while polling (NetworkError: httpx.ConnectError at /bot[redacted]" in err


async def test_a_real_rejected_token_through_ptb_leaves_no_trace(lines):
    async with TelegramSim() as tg:
        bot = Bot(TOKEN, base_url=tg.base_url)
        with pytest.raises(InvalidToken) as caught:
            await bot.initialize()
        logging.getLogger("telegram.ext.Application").error("failed", exc_info=caught.value)
        async with httpx.AsyncClient() as client:       # httpx logs the URL at INFO
            await client.post(f"{tg.base_url}{TOKEN}/getMe")
        await bot.shutdown()
    assert TOKEN in str(caught.value)                  # PTB's message holds it…
    assert TOKEN not in lines() and SECRET_HALF not in lines()   # …no line does
