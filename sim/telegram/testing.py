"""Small aids for tests that drive the simulator: a clock they move, and real PNG bytes."""

from __future__ import annotations

import struct
import zlib


class ManualClock:
    """A wall clock that stands still until a test moves it: ``clock.now += 1``."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A valid grey PNG of ``width`` × ``height`` pixels, as a chart renderer would upload."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    pixels = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )
