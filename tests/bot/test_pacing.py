"""The pacer and the outbox sender against the Telegram simulator enforcing Telegram's windows
strictly: no 429 under bursts, replies first, fairness across chats, a global RetryAfter,
and a bounded stop."""

from __future__ import annotations

import asyncio
import time
from typing import AsyncIterator

import pytest
from cryptography.fernet import Fernet
from telegram.ext import ExtBot

from bot.pacing import ALERT_HIGH, ALERT_MEDIUM, REPLY, TelegramPacer
from bot.sender import OutboxSender, send_html
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import PollWrite, Repository
from sim.telegram import TelegramSim


@pytest.fixture
async def tg() -> AsyncIterator[TelegramSim]:
    sim = TelegramSim()                      # Telegram's windows, strictly
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def bot(tg) -> AsyncIterator[ExtBot]:
    pacer = TelegramPacer()
    bot = ExtBot(tg.token, base_url=tg.base_url, rate_limiter=pacer)
    await bot.initialize()
    yield bot
    await bot.shutdown()


@pytest.fixture
def repo(tmp_path) -> Repository:
    return Repository(open_database(tmp_path / "p.db"), KeyVault(Fernet.generate_key().decode()))


def chats(tg: TelegramSim, users: range) -> None:
    for user in users:
        tg.user_sends(user, "/start")        # each chat exists, as for a real user


async def test_a_burst_of_replies_and_alerts_draws_no_429(tg, bot):
    users = range(1000, 1080)
    chats(tg, users)
    sends = [send_html(bot, u, f"reply {u}", priority=REPLY) for u in users]
    sends += [send_html(bot, u, f"alert {u}", priority=ALERT_HIGH) for u in users]
    started = time.monotonic()
    await asyncio.gather(*sends)
    elapsed = time.monotonic() - started
    assert tg.count_429() == 0
    assert tg.max_sends_in_window(1.0) <= 30
    assert all(tg.max_sends_in_window(1.0, chat_id=u) <= 1 for u in users)
    assert elapsed >= 160 / 30 - 1.2                # paced, not burst
    assert elapsed <= 160 / 30 * 1.25               # and close to Telegram's floor


async def test_every_part_of_a_split_message_keeps_the_chats_pace(tg, bot):
    chats(tg, range(7, 8))
    long_text = "\n".join(f"line {i} " + "x" * 90 for i in range(120))    # > 4096: 3 parts
    await send_html(bot, 7, long_text, priority=ALERT_MEDIUM)
    times = tg.send_times(7)
    assert len(times) >= 3 and tg.count_429() == 0
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:]))


async def test_a_groups_sends_stay_within_20_a_minute(tg, bot):
    group = -100500
    tg.user_sends(1, "/help", chat_id=group, chat_type="supergroup")
    pacer: TelegramPacer = bot.rate_limiter
    sends = [asyncio.create_task(send_html(bot, group, f"n {i}")) for i in range(25)]
    await tg.wait_until(lambda: len(tg.send_times(group)) == 20, timeout=10)
    await witness(tg, bot)                       # time passes: the other five still wait
    assert len(tg.send_times(group)) == 20 and pacer.queued == 5
    assert tg.count_429() == 0
    for task in sends:
        task.cancel()
    await asyncio.gather(*sends, return_exceptions=True)


async def witness(tg: TelegramSim, bot: ExtBot, n: int = 3) -> None:
    """Send ``n`` messages to another private chat (≥ n − 1 seconds pass, as a condition)."""
    tg.user_sends(999, "/start")
    for i in range(n):
        await send_html(bot, 999, f"tick {i}")


async def test_a_reply_goes_before_queued_alerts(tg, bot):
    users = range(2000, 2090)
    chats(tg, users)
    chats(tg, range(1, 2))
    alerts = [asyncio.create_task(send_html(bot, u, "alert", priority=ALERT_HIGH))
              for u in users]
    await asyncio.sleep(0)                    # the alerts are queued first
    started = time.monotonic()
    await send_html(bot, 1, "the answer to /status", priority=REPLY)
    answered_in = time.monotonic() - started
    await asyncio.gather(*alerts)
    assert answered_in < 1.0                  # not behind 90 alerts (3 s of capacity)
    assert tg.count_429() == 0


async def test_a_global_retry_after_pauses_every_send(tg, bot):
    chats(tg, range(3000, 3010))
    tg.fail_next("sendMessage", error_code=429, retry_after=2)
    pacer: TelegramPacer = bot.rate_limiter
    started = time.monotonic()
    # A reply retries after the wait; nothing else goes out meanwhile.
    results = await asyncio.gather(send_html(bot, 3000, "first"),
                                   *(send_html(bot, u, "next") for u in range(3001, 3010)))
    assert all(r is not None for r in results)
    assert pacer.retry_afters == 1
    sent = tg.send_times()
    assert all(t >= started + 1.9 for t in sent)
    assert time.monotonic() - started >= 2.0


def queue_alerts(repo: Repository, users: range, per_user: int, level: int = 3) -> None:
    for user in users:
        repo.ensure_user(user)
        repo.commit_poll(user, PollWrite(alerts=[
            {"kind": "alert", "coin": "ETH", "level": level,
             "payload": {"signals": [], "summary": {"coin": "ETH"}, "n": i}}
            for i in range(per_user)]))


async def test_a_user_with_a_backlog_delays_nobody_else(tg, bot, repo):
    users = range(4000, 4060)                 # 60 users × 30 queued alerts
    chats(tg, users)
    queue_alerts(repo, users, 30)
    sender = OutboxSender(repo, render=lambda item, now: f"alert {item.payload['n']}")
    first_at: dict[int, float] = {}
    started = time.monotonic()

    def seen(message) -> None:
        first_at.setdefault(message.chat_id, time.monotonic() - started)

    stop = tg.add_listener(seen)
    try:
        await asyncio.wait_for(sender.drain(bot, deadline=time.time() + 4.0), 30)
    finally:
        stop()
    assert len(first_at) == 60                            # everyone's first alert went out
    assert max(first_at.values()) <= 60 / 30 + 1.0         # within 60 × 1/30 s + 1 s
    assert tg.count_429() == 0


async def test_high_alerts_go_before_older_medium_ones(tg, bot, repo):
    chats(tg, range(5000, 5001))
    repo.ensure_user(5000)
    repo.commit_poll(5000, PollWrite(alerts=[
        {"kind": "alert", "coin": "SOL", "level": 2, "payload": {"n": "medium"}}]))
    repo.commit_poll(5000, PollWrite(alerts=[
        {"kind": "alert", "coin": "ETH", "level": 3, "payload": {"n": "high"}}]))
    sender = OutboxSender(repo, render=lambda item, now: f"alert {item.payload['n']}")
    await sender.drain(bot)
    assert [m.text for m in tg.messages(5000) if m.text.startswith("alert")] == [
        "alert high", "alert medium"]


async def test_stop_leaves_the_backlog_for_the_next_start_and_is_quick(tg, bot, repo):
    chats(tg, range(6000, 6001))
    queue_alerts(repo, range(6000, 6001), 15)             # 15 s at one a second
    sender = OutboxSender(repo, render=lambda item, now: f"alert {item.payload['n']}")
    sender.start(bot)
    sender.wake()
    await tg.wait_until(lambda: len(tg.send_times(6000)) >= 3, timeout=10)
    started = time.monotonic()
    await sender.stop(grace=3.0)
    assert time.monotonic() - started < 3.5
    delivered = len([m for m in tg.messages(6000) if m.text.startswith("alert")])
    assert repo.overview()["pending_alerts"] == 15 - delivered > 0
    sender = OutboxSender(repo, render=lambda item, now: f"alert {item.payload['n']}")
    await sender.drain(bot)                               # the next start sends the rest
    texts = [m.text for m in tg.messages(6000) if m.text.startswith("alert")]
    assert sorted(texts) == sorted(f"alert {i}" for i in range(15))   # each exactly once
