"""Bad input: any text to any command gets a friendly reply and nothing breaks; secrets stay secret."""

from __future__ import annotations

import logging

from hypothesis import HealthCheck, given, settings, strategies as st

from bot import texts
from bot.logs import setup_logging
from tests.e2e.conftest import KEYS, USER

COMMANDS = [f"/{name}" for name, _ in texts.COMMANDS if name not in ("forget",)] + ["/admin", "/forget"]
NASTY = st.sampled_from([
    "", " ", "'; DROP TABLE users; --", "<b>bold</b> & <i>", "𝓑𝓣𝓒 🚀🚀", "ETH" * 1500, "x" * 4100,
    "-1e309", "NaN", "inf", "0x" + "f" * 64, "\u202e\u200b\u0000", "all", "default", "BTC ETH SOL",
    "oi_change 1e9", "SOL oi_change abc", "funding_low 5", "99999999999999999999", "hobbyist",
    "2h", "-5m", "ETH clusters", "$BTC,ETH", "@perpwatch_test_bot",
])
ARGS = st.one_of(NASTY, st.text(max_size=300), st.text(alphabet="abcdefghxyz_0123456789 .-%", max_size=40))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(command=st.sampled_from(COMMANDS), args=ARGS)
async def test_any_text_to_any_command_gets_a_sane_reply(harness, caplog, command, args):
    caplog.set_level(logging.ERROR)
    text = f"{command} {args}".strip()
    if len(text) > 4096:
        text = text[:4096]
    reply = await harness.say(text, timeout=15)
    assert reply.text.strip()
    assert texts.ERROR_TEXT not in reply.text
    assert "unhandled error" not in caplog.text


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.one_of(NASTY, st.text(min_size=1, max_size=500)))
async def test_stray_text_gets_a_hint(harness, text):
    if not text.strip() or text.lstrip().startswith("/"):
        return
    reply = await harness.say(text[:4096])
    assert "/help" in reply.text


async def test_bad_input_changes_nothing(harness):
    h = harness
    await h.say(f"/setkey {KEYS['hobbyist']}", contains="Key saved")
    await h.tg.wait_for_message(USER, "Key saved")
    await h.say("/subscribe ETH")
    repo = h.services.repo
    before = (repo.coins(USER), repo.thresholds(USER), repo.get_user(USER).paused)
    for text in ["/set oi_change abc", "/set oi_change 1e9", "/set nope 3", "/set SOL oi_change 3",
                 "/set funding_low 0.5", "/subscribe '; DROP TABLE users;--", "/pause forever",
                 "/unsubscribe <b>", "/plan gold", "/set ETH min_level SOMETIMES"]:
        reply = await h.say(text)
        assert reply.text.strip() and texts.ERROR_TEXT not in reply.text
    assert (repo.coins(USER), repo.thresholds(USER), repo.get_user(USER).paused) == before


async def test_the_key_is_nowhere_on_disk_or_in_logs(harness, caplog, tmp_path):
    setup_logging("DEBUG")            # production's logging, at its most verbose
    caplog.set_level(logging.DEBUG)
    h = harness
    key = KEYS["standard"]
    await h.say("/setkey")
    await h.say(key)
    await h.tg.wait_for_message(USER, "Key saved")
    await h.say("/subscribe BTC")
    await h.say("/snapshot BTC", contains="snapshot", timeout=20)
    await h.say("/status")
    db = h.settings.database_path
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists():
            assert key.encode() not in path.read_bytes(), path
    assert key not in caplog.text
    assert all(key not in m.text for m in h.tg.messages(USER))
    assert all(key not in str(call.params.get("text", "")) for call in h.tg.calls)


async def test_users_see_only_their_own_data(harness):
    h = harness
    other = USER + 1
    await h.say(f"/setkey {KEYS['startup']}", user=other)
    await h.tg.wait_for_message(other, "Key saved")
    await h.say("/subscribe SOL", user=other)
    await h.say("/set oi_change 2", user=other)
    mine = await h.say("/list")
    assert "Coins: none" in mine.text and "key not set" in mine.text and "✎" not in mine.text.split("✎ =")[0]
    status = await h.say("/status")
    assert "not set" in status.text
    history = await h.say("/history")
    assert "No alerts yet" in history.text
