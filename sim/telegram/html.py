"""Telegram's HTML parse mode: validate markup and turn it into plain text plus entities.

Errors mirror the Bot API's wording (``Unsupported start tag "br" at byte offset 5``) so a test
failure reads like the production log line would. One deliberate difference: Telegram keeps a
bare ``&`` that does not start an entity as a literal, this parser rejects it, because a bare
``&`` in bot output almost always means user text was not escaped.

Offsets and lengths are UTF-16 code units, as in the Bot API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["HtmlError", "parse_html", "utf16_len"]

# tag -> entity type; "a", "span", "pre", "code" and "blockquote" get special handling below.
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
}
_SUPPORTED_TAGS = set(_SIMPLE_TAGS) | {"a", "span", "code", "pre", "blockquote", "tg-emoji"}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_SPECIAL = re.compile(r"[<&]")
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]*));")
_TAG_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_-]*")
_UNQUOTED_VALUE = re.compile(r"[^\s\"'=<>`]+")
_SPACE = re.compile(r"\s*")


class HtmlError(ValueError):
    """Markup Telegram would refuse; the message is what follows "can't parse entities: "."""


@dataclass
class _Open:
    name: str
    start: int  # UTF-16 offset in the plain text
    attrs: dict[str, str]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (astral characters count twice), Telegram's unit."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[dict]]:
    """Return ``(plain_text, entities)`` for ``source``, or raise :class:`HtmlError`."""
    return _Parser(source).run()


class _Parser:
    def __init__(self, source: str) -> None:
        self.src = source
        self.pos = 0
        self.out: list[str] = []
        self.length = 0  # UTF-16 length of what is in self.out
        self.stack: list[_Open] = []
        self.entities: list[dict] = []

    def run(self) -> tuple[str, list[dict]]:
        src = self.src
        while self.pos < len(src):
            found = _SPECIAL.search(src, self.pos)
            end = found.start() if found else len(src)
            if end > self.pos:
                self._emit(src[self.pos : end])
                self.pos = end
            if not found:
                break
            if src[end] == "&":
                self._emit(self._entity(end))
            elif src.startswith("</", end):
                self._end_tag(end)
            else:
                self._start_tag(end)
        if self.stack:
            raise HtmlError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def _emit(self, text: str) -> None:
        self.out.append(text)
        self.length += utf16_len(text)

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def _entity(self, at: int) -> str:
        """Decode the character reference at ``at`` and move past it."""
        match = _ENTITY.match(self.src, at)
        if match is None:
            raise HtmlError(
                f"Character '&' at byte offset {self._byte_offset(at)} does not start an "
                "entity; escape it as &amp;"
            )
        decimal, hexa, name = match.groups()
        if name is not None:
            if name not in _NAMED_ENTITIES:
                raise HtmlError(
                    f'Unsupported HTML entity "&{name};" at byte offset {self._byte_offset(at)}'
                )
            char = _NAMED_ENTITIES[name]
        else:
            code = int(decimal) if decimal is not None else int(hexa, 16)
            if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise HtmlError(
                    f"Invalid character reference at byte offset {self._byte_offset(at)}"
                )
            char = chr(code)
        self.pos = match.end()
        return char

    def _start_tag(self, at: int) -> None:
        src = self.src
        name_match = _TAG_NAME.match(src, at + 1)
        name = name_match.group().lower() if name_match else ""
        if name not in _SUPPORTED_TAGS:
            raise HtmlError(
                f'Unsupported start tag "{name}" at byte offset {self._byte_offset(at)}'
            )
        pos = name_match.end()
        attrs: dict[str, str] = {}
        while True:
            pos = _SPACE.match(src, pos).end()
            if pos >= len(src):
                raise HtmlError(f"Unclosed start tag at byte offset {self._byte_offset(at)}")
            if src[pos] == ">":
                pos += 1
                break
            attr = _ATTR_NAME.match(src, pos)
            if attr is None:
                raise HtmlError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {self._byte_offset(at)}"
                )
            pos = _SPACE.match(src, attr.end()).end()
            value = ""
            if src.startswith("=", pos):
                pos, value = self._attr_value(_SPACE.match(src, pos + 1).end(), at)
            attrs[attr.group().lower()] = value
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise HtmlError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {self._byte_offset(at)}'
            )
        self.pos = pos
        self.stack.append(_Open(name, self.length, attrs))

    def _attr_value(self, pos: int, tag_at: int) -> tuple[int, str]:
        src = self.src
        if pos < len(src) and src[pos] in "\"'":
            close = src.find(src[pos], pos + 1)
            if close < 0:
                raise HtmlError(f"Unclosed start tag at byte offset {self._byte_offset(tag_at)}")
            raw, end = src[pos + 1 : close], close + 1
        else:
            match = _UNQUOTED_VALUE.match(src, pos)
            if match is None:
                raise HtmlError(
                    f"Unclosed start tag at byte offset {self._byte_offset(tag_at)}"
                )
            raw, end = match.group(), match.end()
        return end, _decode_attr(raw, self._byte_offset(tag_at))

    def _end_tag(self, at: int) -> None:
        src = self.src
        name_match = _TAG_NAME.match(src, at + 2)
        name = name_match.group().lower() if name_match else ""
        pos = _SPACE.match(src, name_match.end() if name_match else at + 2).end()
        if not src.startswith(">", pos):
            raise HtmlError(f"Unclosed end tag at byte offset {self._byte_offset(at)}")
        if not self.stack:
            raise HtmlError(f"Unexpected end tag at byte offset {self._byte_offset(at)}")
        top = self.stack[-1]
        if name != top.name:
            raise HtmlError(
                f'Unmatched end tag at byte offset {self._byte_offset(at)}, '
                f'expected "</{top.name}>", found "</{name}>"'
            )
        self.stack.pop()
        self.pos = pos + 1
        self._close(top)

    def _close(self, tag: _Open) -> None:
        length = self.length - tag.start
        if length == 0:
            return  # Telegram drops empty entities
        entity: dict = {"offset": tag.start, "length": length}
        if tag.name in _SIMPLE_TAGS:
            entity["type"] = _SIMPLE_TAGS[tag.name]
        elif tag.name == "span":
            entity["type"] = "spoiler"
        elif tag.name == "a":
            href = tag.attrs.get("href", "")
            if not href:
                return
            entity.update(type="text_link", url=href)
        elif tag.name == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=tag.attrs.get("emoji-id", ""))
        elif tag.name == "blockquote":
            entity["type"] = "expandable_blockquote" if "expandable" in tag.attrs else "blockquote"
        elif tag.name == "pre":
            entity["type"] = "pre"
            if "language" in tag.attrs:
                entity["language"] = tag.attrs["language"]
            # <pre><code class="language-x">…</code></pre> is one pre entity with a language.
            self.entities = [
                e
                for e in self.entities
                if not (e["type"] == "code" and e["offset"] == tag.start and e["length"] == length)
            ]
        else:  # code
            entity["type"] = "code"
            css = tag.attrs.get("class", "")
            if css.startswith("language-") and self.stack and self.stack[-1].name == "pre":
                self.stack[-1].attrs["language"] = css.removeprefix("language-")
        self.entities.append(entity)


def _decode_attr(raw: str, tag_byte_offset: int) -> str:
    """Decode character references inside an attribute value, strictly."""
    if "&" not in raw:
        return raw
    parts: list[str] = []
    pos = 0
    while (amp := raw.find("&", pos)) >= 0:
        parts.append(raw[pos:amp])
        match = _ENTITY.match(raw, amp)
        if match is None or (match.group(3) and match.group(3) not in _NAMED_ENTITIES):
            raise HtmlError(
                f"Character '&' in an attribute of the tag at byte offset {tag_byte_offset} "
                "does not start an entity; escape it as &amp;"
            )
        decimal, hexa, name = match.groups()
        parts.append(
            _NAMED_ENTITIES[name] if name else chr(int(decimal) if decimal else int(hexa, 16))
        )
        pos = match.end()
    parts.append(raw[pos:])
    return "".join(parts)
