"""One key's connection to CoinGlass's WebSocket (coinglass-v4.md §13.4), kept alive.

:class:`StreamClient` connects to ``URL?cg-api-key=KEY`` with aiohttp's WebSocket client,
subscribes to ``liquidationOrders``, sends the text frame ``ping`` every
:data:`PING_INTERVAL` seconds and expects ``pong`` within :data:`PONG_TIMEOUT`; a silent
socket is closed and replaced. A dropped connection is retried after a jittered exponential
back-off (1 s doubling up to 60 s, each wait a random 50–100 % of that), and the subscription
is sent again on every new connection. Liquidation orders go to ``on_orders``; a malformed
frame, or a callback that raises, is logged and skipped — it never ends the connection.

Two answers end the client instead of a retry, because retrying cannot change them:
CoinGlass refusing the channel for the key's plan ("liquidationOrders need upgrade plan",
:attr:`LinkState.REFUSED`), and refusing the key itself (an error frame about the key, or a
close with 1008, :attr:`LinkState.KEY_REFUSED`). The owner decides when to try again.

The key travels only in the connection URL: it is never logged, and aiohttp's exceptions
(whose text holds the URL) are reduced to their class name before anything records them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable

import aiohttp

from core.coinglass.ratelimit import key_fingerprint
from core.stream.frames import (
    CHANNEL_NAMES, PING, ErrorFrame, FrameCache, Ignored, Order, Orders, Pong, subscribe,
)

log = logging.getLogger(__name__)

PING_INTERVAL = 20.0
PONG_TIMEOUT = 10.0
CONNECT_TIMEOUT = 10.0
CLOSE_TIMEOUT = 1.0
BACKOFF_BASE = 1.0
BACKOFF_CAP = 60.0
STABLE_AFTER = 30.0           # a connection up this long resets the failure count
CLOSE_POLICY_VIOLATION = 1008


class LinkState(str, Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RETRYING = "retrying"
    REFUSED = "refused"            # the plan does not include the channel
    KEY_REFUSED = "key_refused"    # CoinGlass does not accept the key
    STOPPED = "stopped"


@dataclass(frozen=True)
class LinkStatus:
    state: LinkState
    since: float                   # when this state began (CONNECTED: connected since)
    failures: int = 0              # connection attempts that failed in a row
    retry_at: float | None = None  # RETRYING: the next attempt
    reason: str | None = None      # why the last connection ended


def backoff_delay(failures: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
                  rand: Callable[[], float] = random.random) -> float:
    """Seconds before attempt ``failures + 1``: exponential, capped, with 50–100 % jitter so
    that many keys dropped at once do not reconnect at once."""
    ceiling = min(cap, base * 2.0 ** max(0, failures - 1))
    return ceiling * (0.5 + 0.5 * rand())


class _Ended(Exception):
    """Why one connection ended (internal)."""

    def __init__(self, state: LinkState, reason: str):
        super().__init__(reason)
        self.state = state
        self.reason = reason


def _describe(exc: BaseException) -> str:
    """An aiohttp/OS error in words that cannot contain the URL (and so the key)."""
    status = getattr(exc, "status", None)
    name = type(exc).__name__
    return f"{name} {status}" if isinstance(status, int) else name


class StreamClient:
    def __init__(self, session: aiohttp.ClientSession, url: str, api_key: str,
                 on_orders: Callable[[tuple[Order, ...]], None], *,
                 frames: FrameCache | None = None,
                 on_status: Callable[[LinkStatus], None] | None = None,
                 ping_interval: float = PING_INTERVAL, pong_timeout: float = PONG_TIMEOUT,
                 backoff: Callable[[int], float] = backoff_delay,
                 clock: Callable[[], float] = time.time):
        self.session = session
        self.url = url
        self._key = api_key
        self.fingerprint = key_fingerprint(api_key)
        self.on_orders = on_orders
        self.on_status = on_status
        self.frames = frames or FrameCache()
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.backoff = backoff
        self.clock = clock
        self.status = LinkStatus(LinkState.STOPPED, clock())
        self.connections = 0           # sockets opened so far
        self.malformed = 0             # frames (or orders inside frames) skipped
        self.last_pong_at: float | None = None
        self._task: asyncio.Task | None = None
        self._pong = asyncio.Event()
        self._silent = False           # the heartbeat closed the socket for want of a pong
        self.channel = CHANNEL_NAMES[0]  # the spelling CoinGlass accepted (kept on reconnect)

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"stream-{self.fingerprint}")

    async def stop(self, grace: float = 2.0) -> None:
        """Close the socket and end the client; waits at most ``grace`` seconds."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=grace)
        self._set(LinkState.STOPPED)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def _set(self, state: LinkState, *, retry_at: float | None = None,
             reason: str | None = None, failures: int | None = None) -> None:
        self.status = LinkStatus(state, self.clock(),
                                 self.status.failures if failures is None else failures,
                                 retry_at, reason if reason is not None else self.status.reason)
        if self.on_status is not None:
            self.on_status(self.status)

    # --- the connection loop -------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while True:
            self._set(LinkState.CONNECTING, failures=failures)
            try:
                await self._connect_once()
            except _Ended as ended:
                if ended.state in (LinkState.REFUSED, LinkState.KEY_REFUSED):
                    log.info("live stream of key %s refused: %s", self.fingerprint,
                             ended.reason)
                    self._set(ended.state, reason=ended.reason, failures=failures)
                    return
                stable = (self.status.state == LinkState.CONNECTED
                          and self.clock() - self.status.since >= STABLE_AFTER)
                failures = 1 if stable else failures + 1
                delay = self.backoff(failures)
                log.info("live stream of key %s lost (%s); retrying in %.1f s", self.fingerprint,
                         ended.reason, delay)
                self._set(LinkState.RETRYING, retry_at=self.clock() + delay,
                          reason=ended.reason, failures=failures)
                await asyncio.sleep(delay)

    async def _connect_once(self) -> None:
        """One connection from open to end; always raises :class:`_Ended`."""
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                ws = await self.session.ws_connect(
                    self.url, params={"cg-api-key": self._key}, autoping=True,
                    timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=CLOSE_TIMEOUT))
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            raise _Ended(LinkState.RETRYING, "connect timed out") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise _Ended(LinkState.RETRYING, _describe(exc)) from None
        self.connections += 1
        heartbeat = None
        try:
            await ws.send_str(subscribe(self.channel))
            self._set(LinkState.CONNECTED, reason="")
            self._pong.clear()
            self._silent = False
            heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(ws))
            ended = await self._receive(ws)
            raise _Ended(LinkState.RETRYING, "no pong") if self._silent else ended
        except (aiohttp.ClientError, OSError, ConnectionError) as exc:
            raise _Ended(LinkState.RETRYING, _describe(exc)) from None
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            if not ws.closed:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(CLOSE_TIMEOUT):
                        await ws.close()

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> _Ended:
        refusal: _Ended | None = None
        while True:
            message = await ws.receive()
            if message.type == aiohttp.WSMsgType.TEXT:
                outcome = self._on_text(message.data)
                if isinstance(outcome, str):             # the other spelling of the channel
                    await ws.send_str(subscribe(outcome))
                    continue
                refusal = outcome or refusal
                if refusal is not None and refusal.state == LinkState.REFUSED:
                    return refusal
            elif message.type == aiohttp.WSMsgType.BINARY:
                self.malformed += 1
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING,
                                  aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                break
        code = ws.close_code
        if refusal is not None or code == CLOSE_POLICY_VIOLATION:
            return refusal or _Ended(LinkState.KEY_REFUSED, "closed 1008 (key refused)")
        return _Ended(LinkState.RETRYING, f"closed {code}" if code else "connection lost")

    def _on_text(self, text: str) -> _Ended | str | None:
        """Handle one text frame: why the connection must end, a channel name to subscribe
        to instead (CoinGlass rejected the docs' spelling), or None."""
        frame = self.frames.parse(text)
        if isinstance(frame, Orders):
            self.malformed += frame.skipped
            if frame.orders:
                try:
                    self.on_orders(frame.orders)
                except Exception:        # a bug in folding must not cost the connection
                    log.exception("live stream of key %s: folding a frame failed",
                                  self.fingerprint)
        elif isinstance(frame, Pong):
            self.last_pong_at = self.clock()
            self._pong.set()
        elif isinstance(frame, ErrorFrame):
            if frame.needs_upgrade:
                return _Ended(LinkState.REFUSED, "CoinGlass: the plan does not include it")
            if frame.bad_key:
                return _Ended(LinkState.KEY_REFUSED, "CoinGlass did not accept the key")
            if frame.rejects(self.channel) and self.channel != CHANNEL_NAMES[-1]:
                self.channel = CHANNEL_NAMES[CHANNEL_NAMES.index(self.channel) + 1]
                log.info("live stream of key %s: CoinGlass wants the channel spelt %s",
                         self.fingerprint, self.channel)
                return self.channel
            log.info("live stream of key %s: CoinGlass error frame: %.200s", self.fingerprint,
                     frame.message)
        elif isinstance(frame, Ignored):
            self.malformed += 1
        return None

    async def _heartbeat(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """``ping`` every interval; a missing ``pong`` closes the socket (then: reconnect)."""
        try:
            while True:
                await asyncio.sleep(self.ping_interval)
                self._pong.clear()
                await ws.send_str(PING)
                try:
                    await asyncio.wait_for(self._pong.wait(), self.pong_timeout)
                except TimeoutError:
                    self._silent = True
                    await ws.close()
                    return
        except (aiohttp.ClientError, ConnectionError, RuntimeError):
            return                        # the socket went away: the receive loop says so
