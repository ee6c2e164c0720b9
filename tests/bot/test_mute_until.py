"""When "till tomorrow" ends: 07:00 after the coming night, in the user's zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.alerts import tomorrow_morning

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize("pressed,ends", [
    ((2026, 1, 15, 22, 30), (2026, 1, 16, 7, 0)),      # the evening: tomorrow morning
    ((2026, 1, 15, 9, 0), (2026, 1, 16, 7, 0)),        # the day: tomorrow morning
    ((2026, 1, 16, 1, 7), (2026, 1, 16, 7, 0)),        # after midnight: this morning
    ((2026, 1, 16, 4, 0), (2026, 1, 17, 7, 0)),        # from 04:00 the night is over
])
def test_till_tomorrow_ends_after_the_coming_night(pressed, ends):
    now = datetime(*pressed, tzinfo=BERLIN).timestamp()
    assert tomorrow_morning(now, "Europe/Berlin") == datetime(*ends, tzinfo=BERLIN).timestamp()
