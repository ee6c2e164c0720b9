"""What a key can spare beside its polling: never the next poll's room."""

from __future__ import annotations

from core.coinglass.ratelimit import KeyLimiter
from core.headroom import spare_requests


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter_with(used: int, per_minute: int = 30, at: float | None = None) -> tuple:
    clock = Clock()
    limiter = KeyLimiter(per_minute, clock=clock)        # capacity 27 (90 %)
    if used:
        limiter.observe(None, used)                      # requests made just now
    return limiter, clock


def test_an_idle_key_spares_its_room_when_nobody_polls():
    limiter, _ = limiter_with(0)
    assert spare_requests(limiter, 0, None) == 27


def test_a_poll_due_now_keeps_its_requests():
    limiter, _ = limiter_with(10)                        # 17 free
    assert spare_requests(limiter, 8, 0.0) == 9          # 17 − the poll's 8


def test_a_poll_after_the_window_is_not_affected():
    limiter, _ = limiter_with(10)
    assert spare_requests(limiter, 8, 61.0) == 17


def test_a_poll_in_thirty_seconds_after_a_full_window_gets_its_slots():
    limiter, clock = limiter_with(20)                    # 20 sent at t=1000
    clock.now = 1040.0                                   # 7 free; the 20 leave at 1060
    assert spare_requests(limiter, 8, 30.0) == 7         # by 1070 there is room for all
    assert spare_requests(limiter, 8, 10.0) == 0         # at 1050 only 7 would be free: none


def test_a_resting_key_spares_nothing():
    limiter, _ = limiter_with(0)
    limiter.rate_limited(30.0)
    assert spare_requests(limiter, 0, None) == 0 and spare_requests(limiter, 5, 100.0) == 0


def test_a_poll_bigger_than_the_window_leaves_nothing():
    limiter, _ = limiter_with(0)
    assert spare_requests(limiter, 40, 5.0) == 0
