"""/timezone, /quiet and /digest (SPEC §14), and their screens in /settings.

Callback data: ``hr:tz[:N]`` (the timezone picker, N indexes ``COMMON_ZONES``),
``hr:tzn:ZONE`` (a "did you mean" button under a /timezone reply), ``hr:q`` → ``hr:q:HH`` →
``hr:q:HH:HH`` → ``hr:q:HH:HH:MODE`` (quiet hours: start, end, mode), ``hr:q:off``,
``hr:dg[:HH|:off]`` (the digest). Button data is read like typed text: checked, never trusted.

A changed timezone or quiet hours moves the messages held so far (they go out when the new
quiet hours end, or now) and the next digest; quiet hours and the timezone go through
``Repository.update_user``, so a poll that started before the change drops its result and
polls again under the new setting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import time

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import hours_texts as ht
from bot.handlers.common import args_text, caller, reply
from bot.services import Services, services
from core.hours import held_until, next_digest
from core.quiet import ClockError, QuietError, QuietHours, QuietMode, parse_digest, parse_quiet
from core.timezones import TimezoneError, parse_timezone
from core.users import User

PATTERN = r"^hr:(tz|tzn|q|dg)(:[A-Za-z0-9_/+\-]{1,40}){0,3}$"
# The parsers refuse text longer than any timezone, window or time before reading it, so the
# whole argument goes to them: cutting it first could turn "08:00 <junk>" into "08:00".


# --- changes (shared by the commands and the buttons) -----------------------------------

def set_timezone(svc: Services, user_id: int, stored: str) -> User:
    svc.repo.set_timezone(user_id, stored)
    return _follow(svc, user_id)


def set_quiet(svc: Services, user_id: int, quiet: QuietHours | None) -> tuple[User, int]:
    """Store the quiet hours; returns the user and how many held messages there are."""
    svc.repo.set_quiet(user_id, quiet.text if quiet else None)
    user = _follow(svc, user_id)
    return user, svc.repo.held(user_id)[0]


def set_digest(svc: Services, user_id: int, at: time | None) -> tuple[User, float | None]:
    """Store the digest time; returns the user and the next digest moment."""
    user = svc.repo.get_user(user_id)
    stored = f"{at.hour:02d}:{at.minute:02d}" if at else None
    next_at = next_digest(_with(user, digest_at=stored), svc.clock()) if at else None
    svc.repo.set_digest(user_id, stored, next_at)
    return svc.repo.get_user(user_id), next_at


def _with(user: User, **changes) -> User:
    return replace(user, **changes)


def _follow(svc: Services, user_id: int) -> User:
    """After a timezone or quiet-hours change: held messages and the next digest follow."""
    user = svc.repo.get_user(user_id)
    now = svc.clock()
    svc.repo.reschedule_held(user_id, held_until(user, now))
    if user.digest_at:
        svc.repo.set_digest_next(user_id, next_digest(user, now))
    return user


# --- commands ---------------------------------------------------------------------------

async def timezone_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/timezone shows it; /timezone NAME sets it (a city, an IANA name or an offset)."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    now = svc.clock()
    if not text:
        await reply(update, context, ht.timezone_shown(user, now))
        return
    try:
        choice = parse_timezone(text)
    except TimezoneError as exc:
        await reply(update, context, ht.timezone_error(str(exc)),
                    ht.zone_suggestions(exc.suggestions))
        return
    user = set_timezone(svc, user.id, choice.stored)
    await reply(update, context, ht.timezone_set(choice, user, now))


async def quiet_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/quiet shows the quiet hours and whether it is quiet now; /quiet 23:00-07:00 [hold|
    silent|all] sets them; /quiet off ends them (what was held goes out as one message)."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    now = svc.clock()
    if not text:
        await reply(update, context, ht.quiet_shown(user, now, svc.repo.held(user.id)[0]))
        return
    try:
        quiet = parse_quiet(text)
    except QuietError as exc:
        await reply(update, context, ht.quiet_error(str(exc)))
        return
    user, held = set_quiet(svc, user.id, quiet)
    if quiet is None:
        await reply(update, context, ht.quiet_off(held))
    else:
        await reply(update, context, ht.quiet_set(quiet, user, now, held))


async def digest_cmd(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/digest shows it; /digest 08:00 sends one every day at that local time; /digest off."""
    svc = services(context)
    user = caller(update, context)
    text = args_text(update)
    now = svc.clock()
    if not text:
        await reply(update, context, ht.digest_shown(user, now, next_digest(user, now)))
        return
    try:
        at = parse_digest(text)
    except ClockError as exc:
        await reply(update, context, ht.digest_error(str(exc)))
        return
    user, next_at = set_digest(svc, user.id, at)
    await reply(update, context, ht.digest_set(user, now, next_at) if at else ht.DIGEST_OFF)


# --- buttons ----------------------------------------------------------------------------

def _hour(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 2 and int(text) < 24 else None


async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button of the timezone, quiet-hours or digest screens (or a "did you mean")."""
    query = update.callback_query
    svc = services(context)
    user = caller(update, context)
    now = svc.clock()
    _, what, *args = query.data.split(":")
    note = None
    stale = "That button is out of date — /settings opens the menu again."
    if what == "tzn":
        try:
            choice = parse_timezone(args[0] if args else "")
        except TimezoneError:
            await query.answer(stale, show_alert=True)
            return
        user = set_timezone(svc, user.id, choice.stored)
        await query.answer(f"Timezone {choice.stored}")
        await _edit(query, ht.timezone_set(choice, user, now), None)
        return
    if what == "tz":
        if args:
            index = int(args[0]) if args[0].isdigit() else -1
            if not 0 <= index < len(ht.COMMON_ZONES):
                await query.answer(stale, show_alert=True)
                return
            label, zone = ht.COMMON_ZONES[index]
            user = set_timezone(svc, user.id, zone)
            note = f"Timezone {zone}"
        text, markup = ht.settings_timezone(user, now)
    elif what == "q":
        hours = [_hour(a) for a in args[:2]]
        if args == ["off"]:
            user, _ = set_quiet(svc, user.id, None)
            note = "Quiet hours off"
            text, markup = ht.settings_quiet(user, now)
        elif None in hours or (len(args) >= 2 and hours[0] == hours[1]):
            await query.answer(stale, show_alert=True)
            return
        elif len(args) == 1:
            text, markup = ht.settings_quiet_end(hours[0])
        elif len(args) == 2:
            text, markup = ht.settings_quiet_mode(hours[0], hours[1])
        elif len(args) == 3 and args[2] in {m.value for m in QuietMode}:
            quiet = QuietHours(time(hours[0]), time(hours[1]), QuietMode(args[2]))
            user, held = set_quiet(svc, user.id, quiet)
            note = f"Quiet hours {ht.span(quiet)} {quiet.mode.value}"
            text, markup = ht.settings_quiet(user, now, held)
        elif not args:
            text, markup = ht.settings_quiet(user, now, svc.repo.held(user.id)[0])
        else:
            await query.answer(stale, show_alert=True)
            return
    else:                                                   # "dg"
        if args == ["off"]:
            user, _ = set_digest(svc, user.id, None)
            note = "Daily digest off"
        elif args:
            hour = _hour(args[0])
            if hour is None or len(args) > 1:
                await query.answer(stale, show_alert=True)
                return
            user, _ = set_digest(svc, user.id, time(hour))
            note = f"Daily digest at {hour:02d}:00"
        text, markup = ht.settings_digest(user, now, next_digest(user, now))
    await query.answer(note)
    await _edit(query, text, markup)


async def _edit(query, text: str, markup) -> None:
    try:
        await query.edit_message_text(text, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():
            raise


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("timezone", timezone_cmd, filters=private),
        CommandHandler("quiet", quiet_cmd, filters=private),
        CommandHandler("digest", digest_cmd, filters=private),
        CallbackQueryHandler(press, pattern=PATTERN),
    ]
