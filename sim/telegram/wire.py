"""Bot API requests and answers on the wire.

python-telegram-bot posts form fields (objects JSON-encoded), or multipart/form-data when it
uploads a file; JSON bodies and query strings work too. Answers are ``{"ok": true, "result":
...}`` or Telegram's error body with the matching HTTP status.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aiohttp import web

from .errors import ApiError
from .models import ApiCall, Upload

# Form fields PTB sends as raw strings; every other field is JSON-encoded by PTB and decoded here.
_STRING_FIELDS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "photo",
        "action",
        "language_code",
        "secret_token",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "description",
        "short_description",
        "name",
    }
)
dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


async def read_params(request: web.Request) -> dict:
    """Decode query string plus JSON, urlencoded or multipart body into typed params."""
    params: dict[str, Any] = {k: _decode_field(k, v) for k, v in request.query.items()}
    if not request.can_read_body:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON body") from None
        if isinstance(body, dict):
            params.update(body)
        return params
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = Upload(value.filename, value.content_type, value.file.read())
        else:
            params[key] = _decode_field(key, value)
    return params


def _decode_field(name: str, value: str) -> Any:
    if name in _STRING_FIELDS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # e.g. "@channelname"


def int_param(params: dict, name: str) -> int | None:
    value = params.get(name)
    try:
        return None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: wrong parameter {name}") from None


def ok_response(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result}, dumps=dumps)


def error_response(exc: ApiError) -> web.Response:
    return web.json_response(exc.body(), status=exc.code, dumps=dumps)


def describe_call(call: ApiCall) -> str:
    """One line for failure messages: method, chat, text and outcome."""
    outcome = "ok" if call.ok else f"{call.error_code} {call.description}"
    text = call.params.get("text") or call.params.get("caption")
    shown = f" {str(text)[:60]!r}" if text else ""
    return f"{call.method}(chat {call.params.get('chat_id')}){shown} -> {outcome}"
