"""What tests inspect: the requests the bot made, files it uploaded, messages it sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded with multipart/form-data (bytes kept out of the repr)."""

    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made. ``time`` is the arrival time on the simulator's clock."""

    method: str
    params: dict
    time: float
    ok: bool
    error_code: int | None = None
    description: str | None = None
    result: Any = None

    @property
    def chat_id(self) -> int | None:
        """The numeric ``chat_id`` parameter, if the call had one."""
        try:
            return int(self.params.get("chat_id"))
        except (TypeError, ValueError):
            return None


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, as it stands now (after edits and deletion).

    ``html`` is the text or caption exactly as sent, ``text`` what the user reads. A photo
    keeps the uploaded bytes and the size read from them; a photo sent by URL has no bytes
    (the simulator fetches nothing) and no size.
    """

    message_id: int
    chat_id: int
    html: str
    text: str
    reply_markup: dict | None
    buttons: list[list[tuple[str, str | None]]]
    parse_mode: str | None
    edited: int = 0
    edit_date: int | None = None
    deleted: bool = False
    photo: bool = False
    sent_at: float = 0.0
    date: int = 0
    entities: tuple[dict, ...] = ()
    reply_to: int | None = None
    photo_source: str | None = None  # the photo's file_id, or the URL it was sent by
    photo_data: bytes | None = field(default=None, repr=False)
    photo_size: int | None = None  # bytes
    photo_width: int | None = None
    photo_height: int | None = None
