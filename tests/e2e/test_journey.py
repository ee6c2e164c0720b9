"""The newcomer's journey and its error paths, through the real Application and both simulators."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import BAD_KEY, KEYS, USER


async def test_newcomers_journey(harness):
    h = harness
    first = await h.say("/start")
    assert "/setkey" in first.text

    prompt = await h.say("/setkey")
    assert "API key" in prompt.text
    key_message_id = h.last_id() + 1
    await h.say(KEYS["startup"])
    assert h.tg.user_message_deleted(USER, key_message_id)
    saved = await h.tg.wait_for_message(USER, "Key saved")
    assert "Startup" in saved.text and "80 requests/min" in saved.text
    assert "deleted your message" in saved.text
    assert all(KEYS["startup"] not in m.text for m in h.tg.messages(USER))

    added = await h.say("/subscribe ETH")
    assert "Watching ETH" in added.text

    listing = await h.say("/list")
    assert "ETH" in listing.text and "funding_high" in listing.text
    assert "Startup" in listing.text

    done = await h.say("/set oi_change 3")
    assert "oi_change" in done.text and "3" in done.text
    listing = await h.say("/list")
    assert "<b>3 %</b> ✎ <code>oi_change</code>" in listing.html

    menu = await h.say("/settings")
    assert menu.buttons
    await h.press(menu, "set:lvl")
    edited = await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == menu.message_id
                                         and "HIGH" in m.text)
    assert edited.edited >= 1

    snap = await h.say("/snapshot ETH", contains="snapshot", timeout=20)
    assert "Funding" in snap.text and "OI" in snap.text and "Not financial advice" in snap.text

    confirm = await h.say("/forget")
    await h.press(confirm, "forget:yes")
    await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == confirm.message_id
                                and "deleted" in m.text)
    repo = h.services.repo
    assert repo.get_user(USER) is None and repo.coins(USER) == []


async def test_invalid_key_is_refused_and_nothing_stored(harness):
    h = harness
    await h.say(f"/setkey {BAD_KEY}")
    reply = await h.tg.wait_for_message(USER, "rejected")
    assert "Nothing was saved" in reply.text
    user = h.services.repo.get_user(USER)
    assert user.key_state == "none" and h.services.repo.api_key(USER) is None


async def test_coinglass_down_during_setkey(harness):
    h = harness
    h.cg.inject_fault("http_503")
    await h.say(f"/setkey {KEYS['hobbyist']}")
    reply = await h.tg.wait_for_message(USER, "couldn't reach CoinGlass", timeout=20)
    assert "Nothing was saved" in reply.text
    assert h.services.repo.api_key(USER) is None


async def test_lapsed_plan(harness):
    h = harness
    h.cg.add_key("lapsed-key-000000000000000001", "startup", expired=True)
    await h.say("/setkey lapsed-key-000000000000000001")
    reply = await h.tg.wait_for_message(USER, "not active")
    assert "Nothing was saved" in reply.text


async def test_unknown_coin_gets_suggestions(harness):
    h = harness
    await h.say(f"/setkey {KEYS['hobbyist']}")
    await h.tg.wait_for_message(USER, "Key saved")
    reply = await h.say("/subscribe ETHH")
    assert "Unknown coin ETHH" in reply.text and "ETH" in reply.text
    assert h.services.repo.coins(USER) == []
    reply = await h.say("/subscribe DOGEE")
    named = reply.text.split("Did you mean ", 1)[1].split("?")[0].split(", ")
    offered = [text.removeprefix("Watch ") for row in reply.buttons for text, _ in row]
    assert offered == named[:len(offered)] and offered[0] == "DOGE"   # the closest first


async def test_key_in_a_group_is_deleted_and_refused(harness):
    h = harness
    group = -100555
    before = h.last_id(group)
    h.tg.user_sends(USER, f"/setkey {KEYS['hobbyist']}", chat_id=group, chat_type="supergroup")
    reply = await h.tg.wait_for_message(group, "private chat", after=before)
    assert h.tg.user_message_deleted(group, before + 1)
    assert KEYS["hobbyist"] not in reply.text
    assert h.services.repo.get_user(USER) is None or h.services.repo.api_key(USER) is None


async def test_hobbyist_asking_for_a_professional_view(harness):
    h = harness
    await h.say(f"/setkey {KEYS['hobbyist']}")
    await h.tg.wait_for_message(USER, "Key saved")
    await h.say("/subscribe ETH")
    reply = await h.say("/snapshot ETH clusters")
    assert "needs the Professional plan" in reply.text
    reply = await h.say("/set cluster_usd 100M")
    assert "Professional" in reply.text
    assert h.services.repo.thresholds(USER) == ({}, {})


@pytest.mark.parametrize("text,expected", [
    ("/frobnicate", "I don't know /frobnicate"),
    ("hello there", "/help"),
    ("/cancel", "Nothing to cancel"),
    ("/admin", "I don't know /admin"),
])
async def test_friendly_fallbacks(harness, text, expected):
    reply = await harness.say(text)
    assert expected in reply.text
