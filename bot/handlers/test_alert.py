"""🧪 "Send a test alert" in /settings (``set:test``): a sample alert through the outbox.

The row goes through the real delivery path (pacing, rendering, buttons), so the user sees
what an alert looks like and that notifications reach their phone. It is marked as a test
on its first line; its figures are the user's last poll's for one of their coins, or made
up (and said to be) when there are none. It goes out even while alerts are paused or the
coin is muted: the user asked for it. One every few seconds at most.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, ContextTypes

from bot import rule_texts
from bot.handlers.common import budget_of, caller
from bot.services import services
from core.sample_alert import pick_coin, sample_alert_row
from core.storage.crypto import KeyUnreadable

SPACING_SECONDS = 10.0
LAST_KEY = "test_alert_at"           # user_data: when the last test alert was queued


async def send_test_alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Queue a test alert for one of the user's coins and wake the sender."""
    query = update.callback_query
    svc = services(context)
    user = caller(update, context)
    now = svc.clock()
    if now - context.user_data.get(LAST_KEY, float("-inf")) < SPACING_SECONDS:
        await query.answer(rule_texts.TEST_TOO_SOON)
        return
    coin = pick_coin(svc.repo.coins(user.id), svc.repo.polled_coins(user.id))
    snapshot = None
    if user.key_state == "valid":
        try:
            key = svc.repo.api_key(user.id)
        except KeyUnreadable:
            key = None
        if key:
            snapshot = svc.builder.last_known(key, budget_of(context, user), coin)
    row = sample_alert_row(coin, snapshot, now)
    svc.repo.enqueue(user.id, kind=row["kind"], payload=row["payload"], coin=row["coin"],
                     level=row["level"], data_time=row["data_time"])
    context.user_data[LAST_KEY] = now
    svc.sender.wake()
    await query.answer(rule_texts.TEST_QUEUED)


def handlers() -> list[BaseHandler]:
    return [CallbackQueryHandler(send_test_alert, pattern=r"^set:test$")]
