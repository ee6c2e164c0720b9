"""/alert and /alerts: the user's own rules (SPEC §17), and the buttons that answer them.

``/alert SYM METRIC OP VALUE [once|repeat]`` adds a rule (``core/user_rules.py`` reads it,
the poll evaluates it: ``core/rule_alerts.py``); ``/alert del N``, ``/alert del done``,
``/alert del all`` remove rules; ``/alerts`` lists them. Bad input is refused with what is
accepted and stores nothing. A value that reads two ways (``4,000``) is asked back with a
button per reading (``rule:pick:TOKEN:I``; the readings wait in ``user_data``). Under a
repeat rule's alert, ``rule:del:ID`` deletes that rule.
"""

from __future__ import annotations

import re
import secrets

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot import keyboards, rule_texts, texts
from bot.handlers.common import MAX_ARGS_TEXT, args_text, budget_of, caller, reply
from bot.services import services
from core.coins import suggestions
from core.signals.model import Level
from core.storage.crypto import KeyUnreadable
from core.timezones import tz_of
from core.user_rules import AmbiguousRule, RuleError, RuleSpec, ensure_room, parse_rule
from core.users import User

CHOICES_KEY = "rule_choices"          # user_data: token -> readings of an ambiguous rule
MAX_OPEN_QUESTIONS = 5
_DELETE_WORDS = frozenset({"del", "delete", "rm", "remove"})
_NUMBER = re.compile(r"#?(\d{1,6})")


def _key(context: ContextTypes.DEFAULT_TYPE, user: User) -> str | None:
    if user.key_state != "valid":
        return None
    try:
        return services(context).repo.api_key(user.id)
    except KeyUnreadable:
        return None


async def _supported(context: ContextTypes.DEFAULT_TYPE, user: User,
                     key: str | None) -> list[str] | None:
    """CoinGlass's supported coins (cached), as /subscribe checks them; None if unknown."""
    svc = services(context)
    if key:
        return await svc.coins.get(key, per_minute=budget_of(context, user).per_minute)
    return svc.coins.cached


async def _add_rule(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User,
                    spec: RuleSpec) -> None:
    """Check and store one rule, and say what it does (and what it costs in budget)."""
    svc = services(context)
    plan = user.effective_plan
    if not spec.info.available(plan):
        await reply(update, context, rule_texts.rule_refused(
            f"{spec.metric} is not in your {plan.title} plan's snapshot. /plan shows what "
            f"each plan unlocks."))
        return
    rules = svc.repo.rules(user.id)
    same = next((r for r in rules if r.spec == spec and not r.done), None)
    if same is not None:
        await reply(update, context, rule_texts.rule_duplicate(same))
        return
    key = _key(context, user)
    try:
        ensure_room(len(rules))
    except RuleError as exc:
        await reply(update, context, rule_texts.rule_refused(str(exc), rule_texts.ROOM_HINT))
        return
    try:
        supported = await _supported(context, user, key)
        if supported is not None and spec.coin not in set(supported):
            await reply(update, context, rule_texts.rule_unknown_coin(
                spec.coin, suggestions(spec.coin, supported)))
            return
        before = budget_of(context, user)
        rule = svc.repo.add_rule(user.id, spec)
    except RuleError as exc:
        await reply(update, context, rule_texts.rule_refused(str(exc)))
        return
    after = budget_of(context, user)
    # Say the interval when the rule's coin lengthened it (the budget covers one more coin).
    note = (texts.budget_note(after) if key and after.interval > before.interval else None)
    value_now = None
    if key:
        seen = svc.builder.last_known(key, after, spec.coin)
        value_now = spec.read(seen) if seen is not None else None
    cooldown = svc.repo.prefs(user.id).thresholds(spec.coin).cooldown_minutes(Level.MEDIUM)
    await reply(update, context, rule_texts.rule_added(
        rule, cooldown_minutes=cooldown, rule_only_coin=spec.coin not in svc.repo.coins(user.id),
        has_key=key is not None, paused=user.is_paused(svc.clock()), value_now=value_now,
        budget_note=note))


async def _ask(update: Update, context: ContextTypes.DEFAULT_TYPE, question: AmbiguousRule) -> None:
    """A value that reads two ways: ask, with a button per sensible reading."""
    open_questions = context.user_data.setdefault(CHOICES_KEY, {})
    while len(open_questions) >= MAX_OPEN_QUESTIONS:
        open_questions.pop(next(iter(open_questions)))
    token = secrets.token_hex(4)
    open_questions[token] = [choice.to_dict() for choice in question.choices]
    await reply(update, context, rule_texts.rule_question(str(question)),
                keyboards.rule_choices(token, [c.describe() for c in question.choices]))


async def _delete(update: Update, context: ContextTypes.DEFAULT_TYPE, user: User,
                  words: list[str]) -> None:
    """/alert del N [M…] | done | all."""
    repo = services(context).repo
    which = " ".join(words).lower()
    if which == "all":
        await reply(update, context, rule_texts.rules_deleted(repo.delete_rules(user.id), []))
        return
    if which in ("done", "fired"):
        await reply(update, context,
                    rule_texts.rules_deleted(repo.delete_rules(user.id, done=True), []))
        return
    numbers = []
    for word in re.split(r"[\s,]+", which):
        match = _NUMBER.fullmatch(word)
        if match is None:
            await reply(update, context, rule_texts.DEL_USAGE)
            return
        numbers.append(int(match.group(1)))
    deleted = repo.delete_rules(user.id, numbers=numbers)
    missing = [n for n in dict.fromkeys(numbers) if n not in deleted]
    await reply(update, context, rule_texts.rules_deleted(deleted, missing))


def _is_delete(words: list[str]) -> bool:
    """``del 3``, ``del all``: a delete, not a rule on a coin called DEL."""
    return (len(words) >= 2 and words[0].lower() in _DELETE_WORDS
            and all(w.lower() in ("all", "done", "fired") or _NUMBER.fullmatch(w.strip(","))
                    for w in words[1:]))


async def alert(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/alert SYM METRIC OP VALUE [once|repeat], /alert del N, bare /alert: how to."""
    user = caller(update, context)
    plan = user.effective_plan
    text = args_text(update)
    if len(text) > MAX_ARGS_TEXT:
        await reply(update, context, rule_texts.rule_refused(
            "That is far too long for a rule.") + "\n\n" + rule_texts.usage(plan))
        return
    words = text.split()
    if not words:
        await reply(update, context, rule_texts.usage(plan))
        return
    if len(words) == 1 and words[0].lower() in ("list", "ls"):
        await alerts(update, context)
        return
    if words[0].lower() in _DELETE_WORDS:
        if _is_delete(words):
            await _delete(update, context, user, words[1:])
            return
        if len(words) < 4:
            await reply(update, context, rule_texts.DEL_USAGE)
            return
    try:
        spec = parse_rule(text, plan)
    except AmbiguousRule as question:
        await _ask(update, context, question)
        return
    except RuleError as exc:
        await reply(update, context, rule_texts.rule_refused(str(exc)))
        return
    await _add_rule(update, context, user, spec)


async def alerts(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/alerts: every rule with its number and state."""
    svc = services(context)
    user = caller(update, context)
    await reply(update, context, rule_texts.rules_list(
        svc.repo.rules(user.id), svc.repo.coins(user.id), svc.clock(), tz_of(user.timezone)))


async def pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A reading of an ambiguous rule was tapped: add that rule."""
    query = update.callback_query
    user = caller(update, context)
    _, _, token, index = query.data.split(":")
    readings = context.user_data.get(CHOICES_KEY, {}).pop(token, None)
    if readings is None or int(index) >= len(readings):
        await query.answer(rule_texts.QUESTION_EXPIRED, show_alert=True)
        return
    await query.answer()
    try:
        await query.edit_message_reply_markup(None)
    except BadRequest:
        pass                # already without buttons
    await _add_rule(update, context, user, RuleSpec.from_dict(readings[int(index)]))


async def delete_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """🗑 Delete rule, under a repeat rule's alert."""
    query = update.callback_query
    user = caller(update, context)
    rule_id = int(query.data.rsplit(":", 1)[1])
    deleted = services(context).repo.delete_rules(user.id, ids=[rule_id])
    await query.answer(f"Rule #{deleted[0]} deleted" if deleted else "That rule is already gone")
    message = query.message
    if message is not None and message.reply_markup is not None:
        try:
            await query.edit_message_reply_markup(
                keyboards.without_rule_delete(message.reply_markup))
        except BadRequest:
            pass            # unchanged markup


def handlers() -> list[BaseHandler]:
    private = filters.ChatType.PRIVATE
    return [
        CommandHandler("alert", alert, filters=private),
        CommandHandler("alerts", alerts, filters=private),
        CallbackQueryHandler(pick, pattern=r"^rule:pick:[0-9a-f]{8}:\d$"),
        CallbackQueryHandler(delete_button, pattern=r"^rule:del:\d{1,12}$"),
    ]
