"""The per-key limiter: never more than its share of the limit in any window."""

from __future__ import annotations

import asyncio
import time

import pytest

from core.coinglass.ratelimit import KeyLimiter, LimiterRegistry, key_fingerprint


async def send(limiter: KeyLimiter, log: list[float], latency: float = 0.0) -> None:
    async with limiter.slot():
        log.append(time.monotonic())
        await asyncio.sleep(latency)


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_burst_stays_within_headroom_of_the_limit():
    limiter = KeyLimiter(30, window=0.4)           # a 0.4 s "minute" keeps the test short
    sent: list[float] = []
    await asyncio.gather(*(send(limiter, sent, 0.005) for _ in range(60)))
    assert len(sent) == 60
    assert limiter.capacity == 27
    assert max_in_window(sent, 0.4) <= 27
    assert sent[-1] - sent[0] >= 0.4               # the second batch had to wait


async def test_capacity_is_never_zero():
    assert KeyLimiter(1).capacity == 1


async def test_completion_time_keeps_slow_requests_in_the_window():
    limiter = KeyLimiter(2, window=0.3)             # capacity 1
    sent: list[float] = []
    await asyncio.gather(send(limiter, sent, 0.2), send(limiter, sent, 0.0))
    # the second may only start a full window after the first *finished*
    assert sent[1] - sent[0] >= 0.2 + 0.3 - 0.01


async def test_the_limit_in_force_is_the_smaller_of_plan_and_header():
    limiter = KeyLimiter(300)
    limiter.observe(max_limit=80, used=None)          # CoinGlass says the key has less
    assert limiter.header_limit == 80 and limiter.capacity == 72
    limiter.per_minute = 30                           # the user says /plan hobbyist
    assert limiter.capacity == 27
    limiter.per_minute = 1200
    assert limiter.capacity == 72                     # never more than the key has


async def test_usage_seen_by_coinglass_is_booked():
    limiter = KeyLimiter(30)
    async with limiter.slot():
        pass
    limiter.observe(max_limit=30, used=20)          # someone else used the key too
    assert limiter.used_last_minute() == 20
    limiter.observe(max_limit=30, used=5)           # lower than ours: nothing to add
    assert limiter.used_last_minute() == 20


async def test_a_burst_into_a_busy_window_waits_for_coinglass_s_count_first():
    """Another tool spent the key meanwhile: our window says 14 of 27, CoinGlass's says 26.
    The first request goes alone; its answer books the other tool's use, and the rest of the
    burst waits for room instead of running into 429s."""
    clock = [1000.0]
    limiter = KeyLimiter(30, clock=lambda: clock[0])
    for _ in range(14):                                   # our last poll, 20 s ago
        async with limiter.slot():
            pass
    limiter.observe(30, 14)
    clock[0] += 20.0
    coinglass_log = [1000.0] * 14 + [1019.9] * 12        # ours, then the other tool's 12
    sent: list[int] = []

    def coinglass_count() -> int:
        return sum(1 for t in coinglass_log if t > clock[0] - 60.0)

    async def request() -> None:
        async with limiter.slot():
            coinglass_log.append(clock[0])
            assert coinglass_count() <= 30, "CoinGlass would answer 429"
            sent.append(coinglass_count())
            await asyncio.sleep(0)                        # the answer is on its way
            limiter.observe(30, coinglass_count())

    burst = [asyncio.create_task(request()) for _ in range(6)]
    await asyncio.sleep(0.05)
    assert sent == [27]                                   # one went; its answer said 27
    assert limiter.room() == 0 and not any(t.done() for t in burst[1:])
    clock[0] += 40.1                                      # our old requests leave the window
    limiter._wakeup.set()
    await asyncio.wait_for(asyncio.gather(*burst), timeout=5)
    assert len(sent) == 6


async def test_a_slow_checkpoint_holds_the_others_back_once_not_one_by_one(monkeypatch):
    from core.coinglass import ratelimit
    monkeypatch.setattr(ratelimit, "CHECKPOINT_WAIT", 0.05)
    limiter = KeyLimiter(30)
    for _ in range(14):                                   # half the window: a checkpoint is due
        async with limiter.slot():
            pass
    limiter._confirmed_at = -1e9                          # CoinGlass's count is old news
    answered = asyncio.Event()                            # every answer is slow
    started: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            started.append(time.monotonic())
            await answered.wait()

    t0 = time.monotonic()
    tasks = [asyncio.create_task(request()) for _ in range(9)]
    deadline = t0 + 2
    while len(started) < 9 and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    answered.set()
    await asyncio.gather(*tasks)
    assert len(started) == 9
    assert max(started) - t0 < 0.05 + 0.1          # the others went after one wait, together


async def test_a_quiet_window_sends_a_burst_at_once():
    clock = [1000.0]
    limiter = KeyLimiter(30, clock=lambda: clock[0])
    started: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            started.append(len(started))
            await asyncio.sleep(0.01)

    await asyncio.wait_for(asyncio.gather(*(request() for _ in range(9))), timeout=5)
    assert len(started) == 9 and limiter.used_last_minute() == 9   # 9 of 27: no checkpoint


async def test_a_burst_of_429s_is_one_back_off():
    now = [1000.0]
    limiter = KeyLimiter(30, clock=lambda: now[0])
    stamps = [await limiter._acquire() for _ in range(6)]      # six requests in flight
    assert limiter.rate_limited(stamp=stamps[0]) == 30
    for stamp in stamps[1:]:                                   # the rest of the burst
        limiter.rate_limited(stamp=stamp)
    assert limiter.blocked_for == pytest.approx(30) and limiter.episodes == 1


async def test_only_a_refused_probe_doubles_the_rest():
    now = [1000.0]
    limiter = KeyLimiter(30, clock=lambda: now[0])
    limiter.rate_limited(stamp=await_free(limiter))
    now[0] += 30
    assert limiter.room() == 1                                 # one probe, the others wait
    probe = await limiter._acquire()
    assert probe.probe and limiter.room() == 0
    assert limiter.rate_limited(stamp=probe) == 60             # refused again: doubled
    now[0] += 60
    probe = await limiter._acquire()
    assert limiter.rate_limited(stamp=probe) == 120
    now[0] += 120
    probe = await limiter._acquire()
    limiter.succeeded(probe)                                   # CoinGlass answers again
    assert limiter.room() > 1 and limiter.blocked_for == 0
    assert limiter.rate_limited(stamp=await_free(limiter)) == 30   # a new burst starts over


async def test_retry_after_sets_the_rest_and_the_cap_is_five_minutes():
    now = [1000.0]
    limiter = KeyLimiter(30, clock=lambda: now[0])
    assert limiter.rate_limited(retry_after=7) == 7
    now[0] += 7
    probe = await limiter._acquire()
    assert limiter.rate_limited(retry_after=900, stamp=probe) == 300


def await_free(limiter):
    """A stamp for a request sent now (the limiter has room)."""
    from core.coinglass.ratelimit import Stamp
    return Stamp(limiter._clock(), limiter._clock)


async def test_blocked_key_waits_before_sending():
    limiter = KeyLimiter(30)
    limiter.rate_limited(retry_after=0.2)
    start = time.monotonic()
    async with limiter.slot():
        pass
    assert time.monotonic() - start >= 0.19


async def test_registry_keeps_one_limiter_per_key_and_no_key_text():
    registry = LimiterRegistry()
    a = registry.for_key("key-a", 30)
    assert registry.for_key("key-a") is a
    assert registry.for_key("key-b", 80) is not a
    assert registry.for_key("key-a", 300).per_minute == 300     # the plan changed
    assert "key-a" not in key_fingerprint("key-a")
    registry.forget("key-a")
    assert registry.peek("key-a") is None
