"""An httpx transport that sends requests with aiohttp.

The client keeps httpx's API (an injected ``httpx.AsyncClient``, ``httpx.MockTransport`` in
unit tests), but httpcore costs about 1 ms of CPU per request on a small server and more as
requests queue on its pool, which caps one process at a few hundred CoinGlass requests per
second. aiohttp's connection pool does the same work for a fraction of that (see
BENCHMARKS.md), so production traffic goes through it. Errors are mapped to httpx's own
exception types, so nothing above this module knows which library moved the bytes.
"""

from __future__ import annotations

import asyncio

import aiohttp
import httpx


def _seconds(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_connections: int = 8):
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300),
                auto_decompress=False,          # httpx decodes, as its headers promise
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None, connect=_seconds(timeouts.get("pool")) or _seconds(timeouts.get("connect")),
            sock_connect=_seconds(timeouts.get("connect")),
            sock_read=_seconds(timeouts.get("read")),
        )
        body = request.content if request.method not in ("GET", "HEAD") else None
        try:
            async with self._open().request(
                request.method, str(request.url), headers=list(request.headers.multi_items()),
                data=body, timeout=timeout, allow_redirects=False,
            ) as response:
                content = await response.read()
                headers = [(k.decode("latin-1"), v.decode("latin-1"))
                           for k, v in response.raw_headers]
                status = response.status
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout("timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(f"cannot connect ({exc.os_error})", request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.RemoteProtocolError(type(exc).__name__, request=request) from exc
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
