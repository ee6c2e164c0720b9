"""``reply_markup`` as Telegram checks it, and the inline buttons tests press."""

from __future__ import annotations

from typing import Any

from .errors import bad_request
from .params import get_json

MAX_CALLBACK_DATA = 64  # bytes

_OTHER_BUTTON_KINDS = (
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "web_app",
    "login_url",
    "callback_game",
    "pay",
    "copy_text",
)


def reply_markup(params: dict) -> dict | None:
    """The decoded ``reply_markup``, or 400 with Telegram's wording when it is malformed."""
    markup = get_json(params, "reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request(
                'can\'t parse inline keyboard button: field "inline_keyboard" must be an '
                "Array of Arrays"
            )
        for row in rows:
            for button in row:
                _check_inline_button(button)
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse reply keyboard markup JSON object")
    elif not (markup.get("remove_keyboard") or markup.get("force_reply")):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def inline_buttons(markup: dict | None) -> list[list[tuple[str, str | None]]]:
    """``[[(text, callback_data or url), ...], ...]`` for an inline keyboard, else ``[]``."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [
        [
            (
                b.get("text", ""),
                b.get("callback_data", b.get("url", b.get("switch_inline_query"))),
            )
            for b in row
        ]
        for row in markup["inline_keyboard"]
    ]


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
            raise bad_request("BUTTON_DATA_INVALID")
    elif "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
    elif not any(key in button for key in _OTHER_BUTTON_KINDS):
        raise bad_request(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
