"""Webhook delivery: each pending update POSTed as JSON to the URL setWebhook named.

One update at a time, oldest first, so order is kept: the next update waits until the bot's
server accepted this one with a 2xx answer. A non-2xx answer, a connection error or a timeout
is recorded (``getWebhookInfo`` shows ``last_error_date`` and ``last_error_message`` in
Telegram's wording) and the same update is tried again after a back-off that doubles from
``first_retry`` up to ``max_retry`` seconds. Telegram backs off for minutes; the defaults here
are short so tests stay fast. ``X-Telegram-Bot-Api-Secret-Token`` carries the secret token when
one was set. Telegram's option of answering a webhook with a method call is not simulated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Callable

import aiohttp

from .updates import UpdateQueue, Webhook

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class WebhookAttempt:
    """One POST of an update: the HTTP ``status`` answered, or the ``error`` met instead."""

    update_id: int
    url: str
    time: float
    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookPusher:
    """Runs while the simulator runs; idle unless a webhook is set and updates are pending."""

    def __init__(
        self,
        updates: UpdateQueue,
        clock: Callable[[], float],
        changed: Callable[[], asyncio.Event],
        *,
        first_retry: float = 0.05,
        max_retry: float = 2.0,
        timeout: float = 10.0,
    ) -> None:
        self.updates, self.clock, self.changed = updates, clock, changed
        self.first_retry, self.max_retry, self.timeout = first_retry, max_retry, timeout
        self.attempts: list[WebhookAttempt] = []
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task | None = None
        self._running = False

    async def start(self) -> None:
        self._running = True
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._task = asyncio.create_task(self._run(), name="telegram-sim-webhook")

    async def stop(self) -> None:
        # The flag as well as cancel(): Python 3.11's wait_for can swallow a cancellation.
        self._running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        delay = self.first_retry
        while self._running:
            event = self.changed()
            webhook, update = self.updates.webhook, self.updates.first()
            if webhook is None or update is None:
                await event.wait()
                continue
            if await self._post(webhook, update):
                self.updates.confirm(update["update_id"])
                delay = self.first_retry
                continue
            await self._back_off(webhook, delay)
            delay = min(delay * 2, self.max_retry)

    async def _back_off(self, webhook: Webhook, delay: float) -> None:
        """Sleep ``delay``, cut short when the webhook is changed or deleted."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + delay
        while self._running and self.updates.webhook is webhook:
            event = self.changed()
            if loop.time() >= deadline:
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout_at(deadline):
                    await event.wait()

    async def _post(self, webhook: Webhook, update: dict) -> bool:
        headers = {"Content-Type": "application/json"}
        if webhook.secret_token:
            headers[SECRET_HEADER] = webhook.secret_token
        body = json.dumps(update, ensure_ascii=False).encode()
        status = error = None
        try:
            async with self._session.post(webhook.url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
                if not 200 <= status < 300:
                    error = f"Wrong response from the webhook: {status} {response.reason}"
        except TimeoutError:
            error = "Read timeout expired"
        except aiohttp.ClientConnectorError:
            error = "Connection refused"
        except aiohttp.ClientError as exc:
            error = f"Connection failed: {exc.__class__.__name__}"
        attempt = WebhookAttempt(update["update_id"], webhook.url, self.clock(), status, error)
        self.attempts.append(attempt)
        if error is not None:
            self.updates.delivery_failed(int(attempt.time), error)
        return attempt.ok
