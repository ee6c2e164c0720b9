"""A Telegram Bot API simulator for tests and the offline demo.

    tg = TelegramSim(token="123456:TEST-TOKEN")
    await tg.start()                     # 127.0.0.1, ephemeral port
    app = ApplicationBuilder().token(tg.token).base_url(tg.base_url).build()
    tg.user_sends(42, "/start")
    reply = await tg.wait_for_message(42, "Welcome")
"""

from .server import TelegramSim
from .state import ApiCall, ApiError, BotMessage, Upload

__all__ = ["ApiCall", "ApiError", "BotMessage", "TelegramSim", "Upload"]
