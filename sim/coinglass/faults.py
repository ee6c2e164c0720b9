"""Injected failures: which requests they hit and what the simulator answers instead."""

from __future__ import annotations

import json
from dataclasses import dataclass

KINDS = ("http_500", "http_502", "http_503", "http_404", "http_429", "body_500",
         "malformed_json", "latency", "timeout", "rate_limit_body")
DEFAULT_TIMEOUT_S = 30.0

_PROXY_PAGE = ("<html>\r\n<head><title>{status}</title></head>\r\n<body>\r\n<center><h1>{status}"
               "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


@dataclass
class Fault:
    kind: str
    path: str | None = None        # exact path or prefix; None = every path
    key: str | None = None         # None = every key (and requests without one)
    times: int | None = None       # None = until cleared
    seconds: float = 0.0           # latency/timeout: the delay; a 429: its Retry-After

    def matches(self, path: str, key: str | None) -> bool:
        return ((self.path is None or path.startswith(self.path))
                and (self.key is None or self.key == key))

    @property
    def delay(self) -> float:
        if self.kind == "timeout":
            return self.seconds or DEFAULT_TIMEOUT_S
        return self.seconds if self.kind == "latency" else 0.0


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        if fault.kind not in KINDS:
            raise ValueError(f"unknown fault {fault.kind!r}; known: {', '.join(KINDS)}")
        if fault.times is not None and fault.times <= 0:
            return
        self._faults.append(fault)

    def clear(self) -> None:
        self._faults.clear()

    def take(self, path: str, key: str | None) -> Fault | None:
        """The first fault matching this request, used up by one if it is counted."""
        for i, fault in enumerate(self._faults):
            if fault.matches(path, key):
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        del self._faults[i]
                return fault
        return None

    def __len__(self) -> int:
        return len(self._faults)


def envelope(code: str, msg: str) -> bytes:
    return json.dumps({"code": code, "msg": msg}, separators=(",", ":")).encode()


def response_for(kind: str, path: str) -> tuple[int, bytes, str, str | None]:
    """(HTTP status, body, content type, body code) for a fault that replaces the answer."""
    if kind == "http_500":
        return 500, envelope("500", "Server Error"), "application/json", "500"
    if kind in ("http_502", "http_503"):
        status = "502 Bad Gateway" if kind == "http_502" else "503 Service Temporarily Unavailable"
        return int(kind[-3:]), _PROXY_PAGE.format(status=status).encode(), "text/html", None
    if kind == "http_404":
        return 404, not_found_body(path), "application/json", None
    if kind == "http_429":
        return 429, envelope("429", "Too many requests"), "application/json", "429"
    if kind == "rate_limit_body":
        return 200, envelope("429", "Too many requests"), "application/json", "429"
    if kind == "body_500":
        return 200, envelope("500", "Server Error"), "application/json", "500"
    if kind == "malformed_json":
        return 200, b'{"code":"0","msg":"success","data":[{"exchange":"All","symbol":"BT', \
            "application/json", None
    raise ValueError(kind)


def not_found_body(path: str) -> bytes:
    """Spring's default 404 body: JSON, but no envelope and no ``code``."""
    return json.dumps({"timestamp": "2025-11-14T16:10:45.000+00:00", "status": 404,
                       "error": "Not Found", "path": path}, separators=(",", ":")).encode()
