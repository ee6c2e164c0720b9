"""Message text and photo captions: parse mode, entities and length limits.

Texts and captions go through the same HTML validator (``html.py``); the limits apply to what
the user reads, after entity parsing, counted in characters as the real API counts them.
"""

from __future__ import annotations

from typing import NamedTuple

from .errors import bad_request
from .html import HtmlError, parse_html
from .params import get_json, get_str

MAX_TEXT = 4096
MAX_CAPTION = 1024


class Formatted(NamedTuple):
    raw: str  # as sent
    plain: str  # as the user reads it
    entities: list[dict]
    parse_mode: str | None


def text(params: dict) -> Formatted:
    """A message's ``text``: non-empty and at most 4,096 characters once parsed."""
    content = _formatted(params, "text")
    if not content.plain.strip():
        raise bad_request("message text is empty")
    if len(content.plain) > MAX_TEXT:  # code points, as measured against the real API
        raise bad_request("message is too long")
    return content


def caption(params: dict) -> Formatted:
    """A photo's optional ``caption``: at most 1,024 characters once parsed."""
    content = _formatted(params, "caption")
    if len(content.plain) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    return content


def _formatted(params: dict, field_name: str) -> Formatted:
    raw = get_str(params, field_name) or ""
    parse_mode = get_str(params, "parse_mode") or None
    if parse_mode is None:
        entities = get_json(params, "caption_entities" if field_name == "caption" else "entities")
        return Formatted(raw, raw, list(entities or []), None)
    mode = parse_mode.lower()
    if mode == "html":
        try:
            plain, entities = parse_html(raw)
        except HtmlError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
        return Formatted(raw, plain, entities, parse_mode)
    if mode in ("markdown", "markdownv2"):
        return Formatted(raw, raw, [], parse_mode)  # not parsed: this project sends HTML only
    raise bad_request(f"unsupported parse_mode {parse_mode!r}")
