"""A Telegram Bot API simulator for tests and the offline demo.

    tg = TelegramSim(token="123456:TEST-TOKEN")   # Telegram's flood limits on; flood=None: off
    await tg.start()                               # 127.0.0.1, ephemeral port (or port=N)
    app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).build()
    tg.user_sends(42, "/start")
    reply = await tg.wait_for_message(42, "Welcome")

Flood rules are in ``flood.py``, webhook delivery in ``webhook.py``, the methods served in
``methods.py``; ``testing.py`` has a clock tests move and PNG bytes to upload.
"""

from .errors import ApiError
from .flood import SEND_METHODS, FloodLimits
from .models import ApiCall, BotMessage, Upload
from .server import TelegramSim
from .updates import Webhook
from .webhook import WebhookAttempt

__all__ = [
    "SEND_METHODS",
    "ApiCall",
    "ApiError",
    "BotMessage",
    "FloodLimits",
    "TelegramSim",
    "Upload",
    "Webhook",
    "WebhookAttempt",
]
