"""Flood control as Telegram publishes it: sliding windows, flood waits, escalation.

The rules are checked on :class:`FloodControl` with a clock the tests move, then over HTTP with
python-telegram-bot to see the exact 429 a bot receives.
"""

from __future__ import annotations

import datetime as dtm

import httpx
import pytest
from telegram import Bot
from telegram.error import RetryAfter

from sim.telegram import FloodLimits, TelegramSim
from sim.telegram.errors import ApiError
from sim.telegram.flood import FloodControl
from sim.telegram.testing import ManualClock

TOKEN = "123456:TEST-TOKEN"
GROUP = -1001


def flood(limits: FloodLimits | None = FloodLimits.telegram()) -> tuple[FloodControl, ManualClock]:
    clock = ManualClock()
    return FloodControl(limits, clock), clock


def send(control: FloodControl, chat_id: int = 1, chat_type: str = "private") -> int:
    """0 if the send was accepted, else the retry_after answered."""
    try:
        control.admit(chat_id, chat_type)
    except ApiError as exc:
        assert exc.code == 429
        assert exc.description == f"Too Many Requests: retry after {exc.retry_after}"
        return exc.retry_after
    return 0


# -- the windows ---------------------------------------------------------------------------------


def test_a_private_chat_gets_one_send_in_any_second():
    control, clock = flood()
    assert send(control) == 0
    clock.advance(1)  # exactly one second later: a new window
    assert send(control) == 0
    assert control.send_times(1) == [clock.now - 1, clock.now]
    clock.advance(0.5)
    assert send(control) == 1
    assert send(control, chat_id=2) == 0  # other chats are not held up


def test_the_whole_bot_gets_thirty_sends_in_any_second():
    control, clock = flood()
    assert [send(control, chat_id=c) for c in range(30)] == [0] * 30
    assert send(control, chat_id=30) == 1
    clock.advance(1)
    assert send(control, chat_id=30) == 0


def test_the_window_slides_instead_of_refilling():
    control, clock = flood(FloodLimits(escalate=False))
    start = clock.now
    for chat in range(30):  # 30 sends spread over 0.87 s
        assert send(control, chat_id=chat) == 0
        clock.advance(0.03)
    clock.now = start + 1.0  # one second after the first send
    assert send(control, chat_id=100) == 0  # only the first send left the window
    assert send(control, chat_id=101) == 1
    assert control.max_in_window(1.0) == 30


def test_a_group_gets_twenty_sends_in_any_minute():
    control, clock = flood()
    start = clock.now
    for _ in range(20):
        assert send(control, GROUP, "supergroup") == 0
        clock.advance(1)
    assert send(control, GROUP, "supergroup") == 40  # the first send leaves at start + 60
    clock.now = start + 60
    assert send(control, GROUP, "supergroup") == 0
    assert control.max_in_window(60.0, GROUP) == 20


# -- flood waits and escalation ------------------------------------------------------------------


def test_a_flood_wait_refuses_sends_until_it_ends_and_they_are_not_counted():
    control, clock = flood(FloodLimits(escalate=False))
    send(control)
    clock.advance(0.5)
    assert send(control) == 1  # wait until +1.5, though the window frees at +1.0
    clock.advance(0.7)
    assert send(control) == 1  # 0.3 s left, answered as a whole second
    assert len(control.send_times(1)) == 1
    clock.advance(0.3)
    assert send(control) == 0


def test_the_whole_bot_is_held_while_a_global_wait_is_in_force():
    control, clock = flood()
    for chat in range(30):
        send(control, chat_id=chat)
    clock.advance(0.2)
    assert send(control, chat_id=99) == 1
    clock.advance(0.9)  # the window has room again, but the wait runs to +1.2
    assert send(control, chat_id=98) == 1
    clock.advance(0.1)
    assert send(control, chat_id=98) == 0


def test_a_bot_that_keeps_violating_waits_longer_each_time():
    control, clock = flood()
    waits = []
    send(control)
    for _ in range(7):
        clock.advance(0.1)
        retry = send(control)  # too soon after the last accepted send: a violation
        waits.append(retry)
        clock.advance(retry)  # obeys retry_after, then sends at once and again too soon
        assert send(control) == 0
    assert waits == [1, 2, 4, 8, 16, 30, 30]


def test_requests_in_flight_during_a_wait_do_not_escalate_it():
    control, clock = flood()
    send(control)
    assert [send(control) for _ in range(5)] == [1] * 5  # a burst already on its way
    clock.advance(1)
    assert send(control) == 0


def test_thirty_quiet_seconds_after_a_wait_forgive_the_bot():
    control, clock = flood()
    send(control)
    assert send(control) == 1
    clock.advance(1)
    send(control)
    assert send(control) == 2  # within 30 s of the first wait's end
    clock.advance(2 + 30.5)
    send(control)
    assert send(control) == 1


def test_without_escalation_every_violation_waits_for_its_window_only():
    control, clock = flood(FloodLimits(escalate=False))
    send(control)
    for _ in range(3):
        assert send(control) == 1
        clock.advance(1)
        assert send(control) == 0


def test_flood_off_admits_everything_and_still_logs_it():
    control, clock = flood(None)
    assert [send(control) for _ in range(50)] == [0] * 50
    assert control.max_in_window(1.0, 1) == 50
    control.configure(FloodLimits.telegram())  # sends already made fill the new windows
    assert send(control) == 1


def test_max_in_window_uses_half_open_windows():
    control, clock = flood(None)
    for offset in (0.0, 0.5, 1.0, 1.2, 1.4, 3.0):
        clock.now = 1_000.0 + offset
        send(control)
    assert control.max_in_window(1.0) == 4  # 0.5, 1.0, 1.2, 1.4
    assert control.max_in_window(0.5) == 3  # 1.0, 1.2, 1.4
    assert control.max_in_window(10.0, chat_id=2) == 0


@pytest.mark.parametrize(
    "limits", [{"global_per_second": 0}, {"private_per_second": 1.5}, {"group_per_minute": -1}]
)
def test_limits_are_whole_positive_numbers(limits):
    with pytest.raises(ValueError, match="whole number"):
        FloodLimits(**limits)


# -- over HTTP -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as a timedelta


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
async def tg(clock):
    async with TelegramSim(token=TOKEN, clock=clock) as sim:  # Telegram's limits by default
        yield sim


@pytest.fixture
async def bot(tg):
    async with Bot(TOKEN, base_url=tg.base_url) as bot:
        yield bot


async def test_the_429_body_is_telegrams(tg, clock):
    tg.user_sends(7, "/start")
    async with httpx.AsyncClient(base_url=f"{tg.base_url}{TOKEN}/") as client:
        assert (await client.post("sendMessage", data={"chat_id": 7, "text": "a"})).is_success
        clock.advance(0.25)
        refused = await client.post("sendMessage", data={"chat_id": 7, "text": "b"})
    assert refused.status_code == 429
    assert refused.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


async def test_ptb_sees_retry_after_and_succeeds_once_it_waited(tg, bot, clock):
    tg.user_sends(1, "/start", chat_id=GROUP, chat_type="group")
    for i in range(20):
        await bot.send_message(GROUP, f"alert {i}")
        clock.advance(0.5)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(GROUP, "one too many")
    assert caught.value.retry_after == dtm.timedelta(seconds=50)
    clock.advance(50)
    await bot.send_message(GROUP, "one too many")
    assert tg.count_429() == tg.count_429(GROUP) == 1
    assert tg.sent_count(GROUP) == 21 and tg.max_sends_in_window(60, GROUP) == 20
    assert [m.text for m in tg.messages(GROUP)][-1] == "one too many"


async def test_only_new_messages_count_as_sends(tg, bot, clock):
    tg.user_sends(1, "/start")
    sent = await bot.send_message(1, "menu", reply_markup=None)
    for i in range(3):  # edits, chat actions and deletes in the same second are free
        await bot.edit_message_text(f"menu v{i}", 1, sent.message_id)
        await bot.send_chat_action(1, "typing")
    await bot.delete_message(1, sent.message_id)
    assert tg.count_429() == 0 and len(tg.send_times(1)) == 1
    with pytest.raises(RetryAfter):
        await bot.send_photo(1, "https://example.test/chart.png")  # a photo is a send
    clock.advance(1)
    await bot.send_photo(1, "https://example.test/chart.png")
    assert tg.send_times(1) == [clock.now - 1, clock.now]


async def test_flood_can_be_switched_off_and_on(clock):
    async with TelegramSim(token=TOKEN, clock=clock, flood=None) as tg:
        async with Bot(TOKEN, base_url=tg.base_url) as bot:
            tg.user_sends(1, "/start")
            for i in range(5):
                await bot.send_message(1, str(i))
            assert tg.flood_limits is None and tg.max_sends_in_window(1.0, 1) == 5
            tg.set_flood(FloodLimits.telegram())
            with pytest.raises(RetryAfter):
                await bot.send_message(1, "now limited")
            assert tg.count_429(1) == 1 and tg.sent_count(1) == 5
