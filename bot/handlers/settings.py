"""/settings: the same settings as /set, as an inline menu edited in place.

Callback data: ``set:main``, ``set:sig[:ID]``, ``set:lvl``, ``set:th[:NAME[:+|-|0]]``,
``set:pre[:NAME]``, ``set:close``. Every press is answered first, then saved, then the
message is redrawn.
"""

from __future__ import annotations

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import keyboards, texts
from bot.handlers.common import caller, reply
from bot.previews import edit_with_preview, forget_pending
from bot.services import services
from core.previews import PreviewAsk
from core.signals.catalog import SIGNAL_INFO
from core.signals.model import Level
from bot.settings_texts import preset_changes as texts_changes
from core.thresholds import MIN_LEVEL, PRESETS, SPECS, ThresholdSet

PATTERN = r"^set:(main|sig|lvl|th|pre|apply|calm|close)(:[a-z_]{1,40})?(:[+\-0])?$"


def _view(context: ContextTypes.DEFAULT_TYPE, user_id: int, screen: str,
          name: str | None = None) -> tuple[str, object]:
    svc = services(context)
    user = svc.repo.get_user(user_id)
    plan = user.effective_plan
    user_wide, _ = svc.repo.thresholds(user_id)
    values = ThresholdSet.resolve(user_wide).values
    disabled = svc.repo.disabled_signals(user_id)
    if screen == "sig":
        return texts.settings_signals(plan), keyboards.settings_signals(plan, disabled)
    if screen == "th" and name:
        return (texts.settings_threshold(name, values[name], name not in user_wide),
                keyboards.settings_threshold(name))
    if screen == "th":
        return texts.SETTINGS_THRESHOLDS, keyboards.settings_thresholds(plan, values)
    if screen == "pre" and name:
        return texts.preset_preview(name, values), keyboards.preset_confirm(name)
    if screen == "pre":
        return texts.SETTINGS_PRESETS, keyboards.settings_presets()
    return (texts.settings_main(user, values, disabled),
            keyboards.settings_main(Level(int(values[MIN_LEVEL])), user.all_clear))


async def settings(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Open the menu."""
    user = caller(update, context)
    text, markup = _view(context, user.id, "main")
    await reply(update, context, text, markup)


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One button of the menu."""
    query = update.callback_query
    svc = services(context)
    user = caller(update, context)
    plan = user.effective_plan
    parts = query.data.split(":")
    screen = parts[1]
    name = parts[2] if len(parts) > 2 else None
    step = parts[3] if len(parts) > 3 else None
    note = None
    ask = None                  # a threshold changed: the screen carries its preview
    forget_pending(context, query.message.chat_id, query.message.message_id)
    before = svc.repo.prefs(user.id)

    if screen == "close":
        await query.answer()
        await query.edit_message_text(texts.SETTINGS_CLOSED)
        return
    if screen == "sig" and name:
        info = SIGNAL_INFO.get(name)
        if info is None or info.min_plan > plan:
            await query.answer("Not available on your plan.", show_alert=True)
            return
        enabled = name in svc.repo.disabled_signals(user.id)
        svc.repo.set_signal_enabled(user.id, name, enabled)
        note = f"{info.name} {'on' if enabled else 'off'}"
    elif screen == "calm":
        svc.repo.set_all_clear(user.id, not user.all_clear)
        note = f"“All clear” messages {'off' if user.all_clear else 'on'}"
        screen = "main"
    elif screen == "lvl":
        user_wide, _ = svc.repo.thresholds(user.id)
        current = Level(int(ThresholdSet.resolve(user_wide)[MIN_LEVEL]))
        nxt = Level(current % 3 + 1)
        svc.repo.set_threshold(user.id, MIN_LEVEL, float(nxt))
        note = f"Minimum level {nxt.name}"
        screen = "main"
        ask = PreviewAsk(user.id, (MIN_LEVEL,), before, svc.repo.prefs(user.id))
    elif screen == "th" and name:
        spec = SPECS.get(name)
        if spec is None or spec.min_plan > plan or name == MIN_LEVEL:
            await query.answer("Not available on your plan.", show_alert=True)
            return
        if step == "0":
            svc.repo.reset_threshold(user.id, name)
            note = f"{name} reset"
        elif step in ("+", "-"):
            user_wide, _ = svc.repo.thresholds(user.id)
            value = ThresholdSet.resolve(user_wide)[name]
            new = spec.stepped(value, 1 if step == "+" else -1)
            svc.repo.set_threshold(user.id, name, new)
            note = f"{name} = {new:g}"
        if step in ("0", "+", "-"):
            ask = PreviewAsk(user.id, (name,), before, svc.repo.prefs(user.id))
    elif screen in ("pre", "apply") and name:
        if name not in PRESETS:
            await query.answer("Unknown preset.", show_alert=True)
            return
        if screen == "apply":
            user_wide, _ = svc.repo.thresholds(user.id)
            changes = texts_changes(name, ThresholdSet.resolve(user_wide).values)
            svc.repo.set_thresholds(user.id, PRESETS[name])
            await query.answer(f"Preset {name} applied")
            ask = PreviewAsk(user.id, tuple(PRESETS[name]), before, svc.repo.prefs(user.id),
                             preset=name)
            await edit_with_preview(update, context, texts.preset_applied(name, changes), ask,
                                    keyboards.settings_back())
            return

    await query.answer(note)
    text, markup = _view(context, user.id, screen, name if screen in ("th", "pre") else None)
    if ask is not None:
        await edit_with_preview(update, context, text, ask, markup)
        return
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


def handlers() -> list[BaseHandler]:
    return [
        CommandHandler("settings", settings, filters=filters.ChatType.PRIVATE),
        CallbackQueryHandler(press, pattern=PATTERN),
    ]
