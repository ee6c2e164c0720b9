"""Threshold previews in the chat: under /set's confirmation, or on the settings menu's screen.

The preview runs as its own task. If the key can spare its requests now, the reply waits for it
up to ``QUICK_SECONDS`` (a cached history answers in well under that) and carries it at once.
Otherwise the reply goes out with "preview in a moment" and is edited when the preview is ready,
unless something newer took that message's place meanwhile (another press on the same menu).
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot.outcomes import OutcomeServices, outcome_services
from bot.preview_texts import pending_text, preview_text, reason_text
from bot.sender import send_html
from core.previews import PreviewAsk

log = logging.getLogger(__name__)

QUICK_SECONDS = 1.5
FAILED = "📊 Preview unavailable: something went wrong on our side. Your change is saved."


async def reply_with_preview(update: Update, context: ContextTypes.DEFAULT_TYPE, base: str,
                             ask: PreviewAsk, markup=None) -> None:
    """Send ``base`` with the preview of ``ask`` under it (now, or by an edit later)."""
    await _show(context, update.effective_chat.id, None, base, ask, markup)


async def edit_with_preview(update: Update, context: ContextTypes.DEFAULT_TYPE, base: str,
                            ask: PreviewAsk, markup=None) -> None:
    """Edit the pressed menu message to ``base`` with the preview of ``ask`` under it."""
    message = update.callback_query.message
    await _show(context, message.chat_id, message.message_id, base, ask, markup)


def forget_pending(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int) -> None:
    """A press on a menu message: a preview still running for it must not edit it any more."""
    outcome_services(context).latest.pop((chat_id, message_id), None)


def _join(base: str, line: str) -> str:
    return f"{base}\n\n{line}"


async def _put(bot: Bot, chat_id: int, message_id: int | None, text: str, markup) -> int:
    if message_id is None:
        return (await send_html(bot, chat_id, text, reply_markup=markup)).message_id
    try:
        await bot.edit_message_text(text, chat_id=chat_id, message_id=message_id,
                                    reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise
    return message_id


async def _show(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int | None,
                base: str, ask: PreviewAsk, markup) -> None:
    outs = outcome_services(context)
    if message_id is not None:
        outs.latest.pop((chat_id, message_id), None)
    plan = outs.previews.prepare(ask)
    if plan.reason is not None:
        await _put(context.bot, chat_id, message_id, _join(base, reason_text(plan.reason)), markup)
        return
    task = outs.previews.start(plan)
    if not plan.short:
        done, _ = await asyncio.wait({task}, timeout=QUICK_SECONDS)
        if done:
            await _put(context.bot, chat_id, message_id,
                       _join(base, preview_text(task.result())), markup)
            return
    message_id = await _put(context.bot, chat_id, message_id, _join(base, pending_text(plan)),
                            markup)
    token = object()
    outs.latest[(chat_id, message_id)] = token
    edit = asyncio.create_task(_finish(context.bot, outs, chat_id, message_id, base, task,
                                       markup, token), name=f"preview-edit-{chat_id}")
    outs.edits.add(edit)
    edit.add_done_callback(outs.edits.discard)


async def _finish(bot: Bot, outs: OutcomeServices, chat_id: int, message_id: int, base: str,
                  task: asyncio.Task, markup, token: object) -> None:
    """Edit the reply once the preview is ready, if it is still the latest for that message."""
    try:
        text = preview_text(await task)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("threshold preview failed")
        text = FAILED
    if outs.latest.get((chat_id, message_id)) is not token:
        return
    del outs.latest[(chat_id, message_id)]
    try:
        await _put(bot, chat_id, message_id, _join(base, text), markup)
    except TelegramError as exc:
        # The message may be gone (deleted by the user): nothing to correct.
        log.info("could not edit a preview into its reply: %s", exc)
