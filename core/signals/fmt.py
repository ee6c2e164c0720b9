"""Number formatting for signal titles and texts: cheap, f-string only, no locale.

Signed numbers use the Unicode minus (−) so a negative change reads as one in Telegram.
"""

from __future__ import annotations


_SIGNED_SPECS = {d: f"+.{d}f" for d in range(9)}


def signed(x: float, digits: int = 1) -> str:
    """``+3.2`` / ``−1.3`` with ``digits`` decimals."""
    text = format(x, _SIGNED_SPECS[digits])
    return text.replace("-", "−") if x < 0 else text


def usd(x: float) -> str:
    """``$21.0M``, ``$1.2B``, ``$850.0k``, ``$12``; negatives as ``−$5.0M``."""
    a = -x if x < 0 else x
    sign = "−" if x < 0 else ""
    if a >= 1e9:
        return f"{sign}${a / 1e9:,.1f}B"
    if a >= 1e6:
        return f"{sign}${a / 1e6:.1f}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:.1f}k"
    return f"{sign}${a:.0f}"


def signed_usd(x: float) -> str:
    """``+$120.0M`` / ``−$120.0M``."""
    return usd(x) if x < 0 else "+" + usd(x)


def price(x: float) -> str:
    """A coin price: ``$94,300``, ``$1,611.62``, ``$0.5321``, ``$0.00001234``."""
    a = -x if x < 0 else x
    if a >= 10_000:
        return f"${x:,.0f}"
    if a >= 1:
        return f"${x:,.2f}"
    if a >= 0.01:
        return f"${x:.4f}"
    return f"${x:.8f}"


def short_address(address: str) -> str:
    """``0x12ab…89cd`` for a long address; short ones unchanged."""
    return address if len(address) <= 12 else f"{address[:6]}…{address[-4:]}"
