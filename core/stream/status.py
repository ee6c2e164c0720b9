"""A user's live stream as ``/status`` shows it (the manager fills it in, ``bot/`` words it)."""

from __future__ import annotations

from dataclasses import dataclass

# Besides the connection states of ``core.stream.client.LinkState``:
OFF = "off"                    # COINGLASS_WS_URL=off
NEEDS_PLAN = "needs_plan"      # the user's plan is below Standard
IDLE = "idle"                  # nothing to stream for now (``reason`` says why)
STARTING = "starting"          # eligible; the connection opens at the next reconcile


@dataclass(frozen=True)
class StreamStatus:
    """A :class:`~core.stream.client.LinkState` value or one of ``off``, ``needs_plan``,
    ``idle``, ``starting``; when it began, failed attempts, the next try and why."""

    state: str
    since: float | None = None
    failures: int = 0
    retry_at: float | None = None
    reason: str | None = None
