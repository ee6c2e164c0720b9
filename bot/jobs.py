"""The JobQueue jobs: few, named and thin. Each loads work and hands it to a service.

The outbox is not a job: it is a worker task (bot/sender.py) woken when a poll queues
something, so a long delivery never overlaps a job tick of its own.
"""

from __future__ import annotations

import asyncio

from telegram.ext import ContextTypes, JobQueue

from bot.services import services
from core.hours import release_held

TICK_SECONDS = 0.5
SINGLE = {"max_instances": 1, "coalesce": True}


async def poll_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start the polls that are due (each runs as its own task)."""
    await services(context).scheduler.tick()


async def hours_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Quiet hours that ended: each user's held messages go out as one; digests that are due
    start (core/hours.py, core/digest.py). Both are indexed range scans: cheap every second."""
    svc = services(context)
    # In batches with the event loop free between them: 1,000 nights ending at once take
    # about half a second of work (bench.hours), which must not stall replies.
    while release_held(svc.repo, svc.clock()):
        svc.sender.wake()
        await asyncio.sleep(0)
    if svc.digests is not None:
        svc.digests.tick()


async def housekeeping(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Keep the database and the caches small: alert history 30 days, hourly counters 8 days,
    limiters and kept values of keys nobody uses. The prune runs in small steps with the
    event loop free between them."""
    svc = services(context)
    now = svc.clock()
    while svc.repo.prune(alerts_older_than=now - 30 * 86400,
                         counters_older_than=now - 8 * 86400):
        await asyncio.sleep(0)
    svc.coinglass.limiters.sweep()
    svc.builder.sweep()


def schedule(job_queue: JobQueue) -> None:
    job_queue.run_repeating(poll_tick, interval=TICK_SECONDS, first=0.2, name="poll",
                            job_kwargs=SINGLE)
    job_queue.run_repeating(hours_tick, interval=1.0, first=0.3, name="hours",
                            job_kwargs=SINGLE)
    job_queue.run_repeating(housekeeping, interval=3600, first=60, name="housekeeping",
                            job_kwargs=SINGLE)
