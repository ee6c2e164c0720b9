"""``python -m bot healthcheck``: the container's HEALTHCHECK, with nothing but the standard
library (slim images have no curl). Prints /healthz's JSON; exit 0 only on 200."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def probe(url: str, timeout: float = 5.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            print(answer.read().decode("utf-8", "replace"))
            return 0
    except urllib.error.HTTPError as exc:          # 503: the JSON says why
        print(exc.read().decode("utf-8", "replace") or exc, file=sys.stderr)
    except (urllib.error.URLError, OSError) as exc:
        print(f"perpwatch healthcheck: {url} unreachable: {getattr(exc, 'reason', exc)}",
              file=sys.stderr)
    return 1
