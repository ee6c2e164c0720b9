"""Method parameters: form fields arrive as strings, JSON bodies as typed values."""

from __future__ import annotations

import json
from typing import Any

from .errors import bad_request


def get_json(params: dict, name: str) -> Any:
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None
    return value


def get_int(params: dict, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise bad_request(f"wrong parameter {name}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"wrong parameter {name}") from None


def get_bool(params: dict, name: str) -> bool:
    value = params.get(name)
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def get_str(params: dict, name: str) -> str | None:
    value = params.get(name)
    return None if value is None else str(value)
