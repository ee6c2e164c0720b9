"""Wiring for alert outcomes and threshold previews (SPEC §14): made in ``post_init``, reached
by handlers through :func:`outcome_services`.

- the :class:`~core.outcome_tracker.OutcomeTracker` reads every poll's prices (the poller's
  ``on_snapshots`` hook) and runs as the JobQueue job ``outcomes``;
- the :class:`~core.previews.PreviewService` replays a threshold change over CoinGlass history.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from telegram.ext import Application, ContextTypes

from bot.services import SERVICES_KEY, Services
from core.headroom import Headroom
from core.outcome_tracker import OutcomeTracker
from core.previews import PreviewService
from core.storage.outcomes import OutcomeStore

log = logging.getLogger(__name__)

OUTCOMES_KEY = "outcomes"
SINGLE = {"max_instances": 1, "coalesce": True}


@dataclass
class OutcomeServices:
    store: OutcomeStore
    tracker: OutcomeTracker
    previews: PreviewService
    horizons: tuple[int, ...]
    # (chat, message) -> the preview that may still edit it; a newer one (or any press on a
    # menu message) takes its place, so a late preview never overwrites a newer screen.
    latest: dict[tuple[int, int], object] = field(default_factory=dict)
    edits: set[asyncio.Task] = field(default_factory=set)


def outcome_services(context: ContextTypes.DEFAULT_TYPE) -> OutcomeServices:
    return context.application.bot_data[OUTCOMES_KEY]


def install(app: Application) -> OutcomeServices:
    """Make the tracker and the preview service, hook the tracker into polling, schedule it."""
    svc: Services = app.bot_data[SERVICES_KEY]
    horizons = svc.settings.outcome_horizons
    store = OutcomeStore(svc.repo.db)
    headroom = Headroom(svc.builder, clock=svc.clock)
    tracker = OutcomeTracker(svc.repo, store, headroom, horizons,
                             default_interval=svc.settings.poll_interval_seconds,
                             clock=svc.clock)
    previews = PreviewService(svc.repo, headroom,
                              default_interval=svc.settings.poll_interval_seconds,
                              clock=svc.clock)
    tracker.start()
    svc.poller.on_snapshots = tracker.observe
    services = OutcomeServices(store, tracker, previews, horizons)
    app.bot_data[OUTCOMES_KEY] = services
    app.job_queue.run_repeating(outcomes_tick, interval=tracker.tick_seconds, first=1.0,
                                name="outcomes", job_kwargs=SINGLE)
    return services


async def outcomes_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Record the alert outcomes whose horizon has come."""
    try:
        await outcome_services(context).tracker.tick()
    except Exception:
        # A bug here must not stop the job: the next tick tries again.
        log.exception("outcome tick failed")


async def stop(app: Application) -> None:
    """Cancel price requests and previews in flight (``post_stop``)."""
    services: OutcomeServices | None = app.bot_data.get(OUTCOMES_KEY)
    if services is not None:
        await services.tracker.stop()
        await services.previews.stop()
        edits = list(services.edits)
        for task in edits:
            task.cancel()
        await asyncio.gather(*edits, return_exceptions=True)
