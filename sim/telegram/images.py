"""Uploaded photos: accept PNG and JPEG only, and read their size as Telegram would.

Telegram decodes every uploaded photo; bytes it cannot decode answer
``Bad Request: IMAGE_PROCESS_FAILED``. The simulator checks the signature and reads the size
from the PNG ``IHDR`` chunk or the JPEG start-of-frame segment, which catches the usual defect
(an empty buffer, an SVG, a truncated render) without decoding pixels. The published limits on
dimensions (width + height at most 10,000, aspect ratio at most 20) answer
``PHOTO_INVALID_DIMENSIONS``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from .errors import bad_request

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"
# Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_STANDALONE = frozenset(range(0xD0, 0xDA)) | {0x01}


class ImageInfo(NamedTuple):
    format: str  # "png" or "jpeg"
    width: int
    height: int


def inspect_photo(data: bytes) -> ImageInfo:
    """Format and size of an uploaded photo, or the 400 Telegram answers for it."""
    if data.startswith(PNG_SIGNATURE):
        info = _png(data)
    elif data.startswith(JPEG_SIGNATURE):
        info = _jpeg(data)
    else:
        info = None
    if info is None or info.width <= 0 or info.height <= 0:
        raise bad_request("IMAGE_PROCESS_FAILED")
    longer, shorter = max(info.width, info.height), min(info.width, info.height)
    if info.width + info.height > 10_000 or longer > 20 * shorter:
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    return info


def _png(data: bytes) -> ImageInfo | None:
    # The first chunk must be IHDR: length 13, then width and height as big-endian uint32.
    header = data[8:24]
    if len(header) < 16:
        return None
    length, kind, width, height = struct.unpack(">I4sII", header)
    if length != 13 or kind != b"IHDR":
        return None
    return ImageInfo("png", width, height)


def _jpeg(data: bytes) -> ImageInfo | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _JPEG_SOF:
            frame = data[pos + 5 : pos + 9]
            if len(frame) < 4:
                return None
            height, width = struct.unpack(">HH", frame)
            return ImageInfo("jpeg", width, height)
        if marker == 0xDA:  # start of scan before any frame header
            return None
        pos += 2 + length
    return None
