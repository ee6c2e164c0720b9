"""The bot's one HTTP server, on ``PORT``: ``GET /healthz`` always, and in webhook mode the
endpoint Telegram posts updates to (SPEC §15).

Why not python-telegram-bot's ``run_webhook``: its server (tornado, the ``webhooks`` extra)
has no public way to add a route, so ``/healthz`` would need a second server in webhook mode
and a different one in polling mode. This aiohttp server (aiohttp is already a dependency)
serves both modes with one code path and does what PTB's handler does: it checks the
``X-Telegram-Bot-Api-Secret-Token`` header (403 when missing or wrong, compared in constant
time), accepts only JSON (403, as PTB), answers 400 to a body that is not an update, and
answers 200 once the update is in the Application's ``update_queue``, from which the same
update processor as in polling mode takes it. BENCHMARKS.md has the measured comparison.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.health import HealthMonitor

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"


@dataclass(frozen=True)
class Webhook:
    """Where Telegram posts updates, and the secret it must send with each."""

    path: str
    secret_token: str


class WebServer:
    """``/healthz`` and, with ``webhook``, Telegram's updates into ``app.update_queue``.

    ``port`` 0 takes a free port (tests); :attr:`port` is the one bound."""

    def __init__(self, app: Application, health: HealthMonitor, *, port: int,
                 host: str = "0.0.0.0", webhook: Webhook | None = None):
        self.app = app
        self.health = health
        self.host = host
        self.webhook = webhook
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self.refused = 0                # webhook requests refused (wrong secret, not JSON…)

    async def start(self) -> None:
        """Listen; raises ``OSError`` when the port cannot be bound."""
        server = web.Application(client_max_size=1024 * 1024)
        server.router.add_get(HEALTH_PATH, self._healthz)
        if self.webhook is not None:
            server.router.add_post(self.webhook.path, self._update)
        self._runner = web.AppRunner(server, access_log=None, handle_signals=False,
                                     shutdown_timeout=1.0)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self._requested_port).start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def port(self) -> int:
        if self._runner is None or not self._runner.addresses:
            return self._requested_port
        return self._runner.addresses[0][1]

    async def _healthz(self, request: web.Request) -> web.Response:
        report = self.health.report()
        status = HTTPStatus.OK if report.healthy else HTTPStatus.SERVICE_UNAVAILABLE
        return web.json_response(report.to_dict(), status=status,
                                 headers={"Cache-Control": "no-store"})

    async def _update(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.webhook.secret_token.encode()):
            return self._refuse(HTTPStatus.FORBIDDEN, "wrong or missing secret token", request)
        if request.content_type != "application/json":
            return self._refuse(HTTPStatus.FORBIDDEN, "not JSON", request)
        try:
            update = Update.de_json(json.loads(await request.read()), self.app.bot)
        except Exception as exc:     # any malformed body: refuse it, never crash the server
            return self._refuse(HTTPStatus.BAD_REQUEST, f"not an update ({type(exc).__name__})",
                                request)
        if update is None:
            return self._refuse(HTTPStatus.BAD_REQUEST, "empty update", request)
        self.app.bot.insert_callback_data(update)     # as PTB's own webhook handler does
        await self.app.update_queue.put(update)
        return web.Response(status=HTTPStatus.OK)

    def _refuse(self, status: HTTPStatus, why: str, request: web.Request) -> web.Response:
        self.refused += 1
        if self.refused <= 10 or self.refused % 1000 == 0:     # a flood must not flood the log
            log.warning("webhook request from %s refused (%d so far): %s", request.remote,
                        self.refused, why)
        return web.Response(status=status, text=why)
