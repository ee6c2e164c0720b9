"""The JobQueue jobs: few, named and thin. Each loads work and hands it to a service.

The outbox is not a job: it is a worker task (bot/sender.py) woken when a poll queues
something, so a long delivery never overlaps a job tick of its own.
"""

from __future__ import annotations

import asyncio

from telegram.ext import ContextTypes, JobQueue

from bot.services import services

TICK_SECONDS = 0.5
SINGLE = {"max_instances": 1, "coalesce": True}


async def poll_tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Start the polls that are due (each runs as its own task)."""
    await services(context).scheduler.tick()


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
    job_queue.run_repeating(housekeeping, interval=3600, first=60, name="housekeeping",
                            job_kwargs=SINGLE)
