"""Small pure formatters for numbers, times and HTML, shared by every text the bot sends."""

from __future__ import annotations

import html
from datetime import timezone, tzinfo

from core.timezones import format_time, zone_label

from core.signals.model import Direction, Level

LEVEL_EMOJI = {Level.HIGH: "🔴", Level.MEDIUM: "🟡", Level.LOW: "🟢"}
DIRECTION_MARK = {Direction.BULLISH: "▲", Direction.BEARISH: "▼", Direction.NEUTRAL: "•"}
TELEGRAM_LIMIT = 4096


def esc(value: object) -> str:
    """Escape anything for Telegram HTML (``<``, ``>``, ``&``)."""
    return html.escape(str(value), quote=False)


def usd(value: float | None) -> str:
    if value is None:
        return "n/a"
    sign = "−" if value < 0 else ""
    v = abs(value)
    for size, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if v >= size:
            return f"{sign}${v / size:,.1f}{suffix}" if v / size < 1000 else f"{sign}${v / size:,.0f}{suffix}"
    return f"{sign}${v:,.0f}"


def pct(value: float | None, digits: int = 2, signed: bool = True) -> str:
    if value is None:
        return "n/a"
    text = f"{abs(value):.{digits}f} %"
    if not signed:
        return ("−" if value < 0 else "") + text
    return ("+" if value > 0 else "−" if value < 0 else "±") + text


def price(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1000:
        return f"${value:,.1f}"
    if value >= 1:
        return f"${value:,.2f}"
    return f"${value:.6g}"


def when(ts: float | None, now: float | None = None, tz: tzinfo | None = None) -> str:
    """``ts`` in the user's zone with its label: ``03:04 UTC`` today, ``Mon 03:04 CET`` this
    week, ``21 Nov 03:04 CET`` otherwise (core.timezones.format_time)."""
    if ts is None:
        return "never"
    zone = tz or timezone.utc
    return f"{format_time(ts, zone, now if now is not None else ts)} {zone_label(zone, ts)}"


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 90:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours = seconds / 3600
    if hours < 48:
        return f"{hours:.1f} h".replace(".0 h", " h")
    return f"{hours / 24:.1f} days".replace(".0 days", " days")


def interval(seconds: int) -> str:
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def fit(parts: list[str], limit: int = TELEGRAM_LIMIT) -> str:
    """Join ``parts`` with newlines, dropping whole parts from the end to stay within ``limit``.

    Parts are whole lines of HTML, so dropping one never breaks a tag.
    """
    text = "\n".join(parts)
    if len(text) <= limit:
        return text
    marker = "… (shortened)"
    kept: list[str] = []
    size = len(marker)
    for part in parts:
        if size + len(part) + 1 > limit:
            break
        kept.append(part)
        size += len(part) + 1
    return "\n".join(kept + [marker])


def split_html(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split a long message at line breaks into chunks Telegram accepts."""
    if len(text) <= limit:
        return [text]
    chunks, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:            # one enormous line: cut it (plain text only)
            chunks.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks
