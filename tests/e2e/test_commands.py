"""Every command and menu a user touches, through the real Application and both simulators."""

from __future__ import annotations

from telegram.ext import CommandHandler

from tests.e2e.conftest import KEYS, USER, Harness


async def setup_user(h: Harness, plan: str = "startup", coins: str = "ETH") -> None:
    await h.say(f"/setkey {KEYS[plan]}")
    await h.tg.wait_for_message(USER, "Key saved")
    await h.say(f"/subscribe {coins}", contains="Watching")


async def edited(h: Harness, message, contains: str):
    return await h.tg.wait_for_message(
        USER, predicate=lambda m: m.message_id == message.message_id and contains in m.text)


async def test_settings_menu_edits_one_message_in_place(harness):
    h = harness
    await setup_user(h)
    repo = h.services.repo
    menu = await h.say("/settings")
    assert "Settings" in menu.text
    await h.press(menu, "set:sig")
    menu = await edited(h, menu, "tap to switch")
    await h.press(menu, "set:sig:taker_bias")
    menu = await h.tg.wait_for_message(USER, predicate=lambda m: m.message_id == menu.message_id
                                       and any("⛔ Taker bias" == text
                                               for row in m.buttons for text, _ in row))
    assert "taker_bias" in repo.disabled_signals(USER)

    await h.press(menu, "set:main")
    menu = await edited(h, menu, "Signals on: 10 of 11")
    await h.press(menu, "set:th")
    menu = await edited(h, menu, "tap one to adjust")
    await h.press(menu, "set:th:oi_change")
    menu = await edited(h, menu, "Open interest move in 1 h: 5 %")
    await h.press(menu, "set:th:oi_change:+")
    menu = await edited(h, menu, "Open interest move in 1 h: 5.5 %")
    assert repo.thresholds(USER)[0]["oi_change"] == 5.5
    await h.press(menu, "set:th:oi_change:0")
    await h.tg.wait_until(lambda: "oi_change" not in repo.thresholds(USER)[0])
    menu = await edited(h, menu, "Open interest move in 1 h: 5 %\n")
    await h.press(menu, "set:th")
    menu = await edited(h, menu, "tap one to adjust")
    await h.press(menu, "set:main")
    menu = await edited(h, menu, "Signals on")
    await h.press(menu, "set:pre")
    menu = await edited(h, menu, "Presets")
    await h.press(menu, "set:pre:aggressive")
    menu = await edited(h, menu, "preset would change:")   # confirmed before it applies
    assert "Open interest move in 1 h: 5 % → 3 %" in menu.text
    assert "oi_change" not in repo.thresholds(USER)[0]
    await h.press(menu, "set:apply:aggressive")
    menu = await edited(h, menu, "applied")
    assert "5 % → 3 %" in menu.text and repo.thresholds(USER)[0]["oi_change"] == 3.0
    await h.press(menu, "set:main")
    menu = await edited(h, menu, "Signals on")
    await h.press(menu, "set:close")
    await edited(h, menu, "Settings saved")
    assert len([m for m in h.tg.messages(USER) if m.message_id == menu.message_id]) == 1
    assert all(a for call in h.tg.calls_to("answerCallbackQuery") for a in [call.ok])


async def test_bare_subscribe_offers_popular_coins_as_buttons(harness):
    h = harness
    await h.say(f"/setkey {KEYS['hobbyist']}")
    await h.tg.wait_for_message(USER, "Key saved")
    picker = await h.say("/subscribe")
    assert any(data == "sub:BTC" for row in picker.buttons for _, data in row)
    await h.press(picker, "sub:BTC")
    updated = await edited(h, picker, "Watching BTC")
    assert any(text == "✅ BTC" for row in updated.buttons for text, _ in row)
    await h.press(updated, "sub:ETH")
    updated = await edited(h, picker, "Watching ETH")
    assert h.services.repo.coins(USER) == ["BTC", "ETH"]
    assert h.last_id() == picker.message_id             # one message for the whole pick


async def test_subscribe_formats_and_without_a_key(harness):
    h = harness
    reply = await h.say("/subscribe $BTC,eth sol")
    assert "Watching BTC, ETH, SOL" in reply.text and "after /setkey" in reply.text
    reply = await h.say("/unsubscribe eth")
    assert "Stopped watching ETH" in reply.text and "BTC, SOL" in reply.text
    reply = await h.say("/unsubscribe all")
    assert "watch no coins" in reply.text
    assert h.services.repo.coins(USER) == []


async def test_subscribing_more_than_the_budget_raises_the_interval(harness):
    h = harness
    await setup_user(h, "hobbyist", "BTC ETH SOL")
    reply = h.tg.messages(USER)[-1]
    assert "requests/min" in reply.text and "every 20 s" in reply.text
    assert h.services.repo.get_user(USER).interval_seconds is None     # derived, not stored


async def test_per_coin_override_is_marked_in_list(harness):
    h = harness
    await setup_user(h, coins="ETH SOL")
    reply = await h.say("/set SOL oi_change 8")
    assert "oi_change" in reply.text and "for SOL" in reply.text
    listing = await h.say("/list")
    assert "for SOL 8 %" in listing.text
    reply = await h.say("/set SOL oi_change default")
    assert "default" in reply.text
    assert h.services.repo.thresholds(USER) == ({}, {})


async def test_pause_status_resume(harness):
    h = harness
    await setup_user(h)
    reply = await h.say("/pause 30m")
    assert "30 min" in reply.text
    status = await h.say("/status")
    assert "paused until" in status.text and "next: not scheduled" in status.text
    assert "Key: valid" in status.text and "Plan: Startup" in status.text
    reply = await h.say("/resume")
    assert "resumed" in reply.text
    status = await h.say("/status")
    assert "alerts on" in status.text
    refused = await h.say("/pause tomorrow")
    assert "not a duration" in refused.text and "1.5h" in refused.text
    bare = await h.say("/pause 90")
    assert "90m" in bare.text and "Nothing changed" in bare.text
    assert not h.services.repo.get_user(USER).paused
    reply = await h.say("/pause 1.5h")
    assert "1.5 h" in reply.text


async def test_plan_show_override_and_names(harness):
    h = harness
    await setup_user(h, "standard")
    reply = await h.say("/plan")
    assert "Plan: Standard" in reply.text and "Requests: 300 per minute" in reply.text
    assert "Professional would add" in reply.text
    assert "history at" not in reply.text                 # said once, on its own line
    reply = await h.say("/plan gold")
    assert "hobbyist, startup, standard, professional, enterprise" in reply.text
    reply = await h.say("/plan startup")
    assert "Startup" in reply.text
    assert h.services.repo.get_user(USER).effective_plan.name == "STARTUP"
    await h.say("/plan auto")
    assert h.services.repo.get_user(USER).effective_plan.name == "STANDARD"


async def test_history_lists_alerts(harness):
    h = harness
    await setup_user(h, "professional")
    h.cg.market.scenario("cascade", "ETH")
    await h.tg.wait_for_message(USER, "🔴 ETH", timeout=15)
    reply = await h.say("/history")
    assert "🔴 ETH ▼" in reply.text and "longs liquidated" in reply.text
    number = next(data for row in reply.buttons for text, data in row if text == "1")
    await h.press(reply, number)
    full = await h.tg.wait_for_message(USER, "Long liquidation cascade", after=reply.message_id)
    assert "Data as of" in full.text and "Confidence" in full.text


async def test_admin_sees_the_overview(harness):
    h = harness
    await setup_user(h, "professional")
    reply = await h.say("/admin", user=777)
    assert "Users: 1" in reply.text and "subscribers polling: 1" in reply.text
    assert "Errors 24 h" in reply.text


async def test_group_chats_get_start_and_help_only(harness):
    h = harness
    group = -100777
    before = h.last_id(group)
    h.tg.user_sends(USER, "/start", chat_id=group, chat_type="supergroup")
    reply = await h.tg.wait_for_message(group, "private chat", after=before)
    h.tg.user_sends(USER, "/subscribe ETH", chat_id=group, chat_type="supergroup")
    reply = await h.tg.wait_for_message(group, "private chats", after=reply.message_id)
    assert h.services.repo.coins(USER) == []


async def test_setkey_conversation_cancel_and_other_commands(harness):
    h = harness
    await h.say("/setkey")
    reply = await h.say("/cancel")
    assert "no key was saved" in reply.text
    await h.say("/setkey")
    reply = await h.say("/help")                    # another command ends the prompt and runs
    assert "/subscribe" in reply.text
    reply = await h.say("hello")
    assert "/help" in reply.text                    # not taken for a key
    assert h.services.repo.get_user(USER).key_state == "none"


async def test_blocking_and_unblocking_the_bot_is_noticed(harness):
    h = harness
    await setup_user(h, "professional")
    repo = h.services.repo
    h.tg.user_blocks_bot(USER)
    await h.tg.wait_until(lambda: not repo.get_user(USER).active)
    h.tg.user_unblocks_bot(USER)
    await h.tg.wait_until(lambda: repo.get_user(USER).active)


async def test_the_command_menu_offers_every_private_command_the_bot_answers(harness):
    """Telegram's "/" menu (setMyCommands) and /help list what the bot handles; /admin only
    in the operators' own menu."""
    h = harness
    await h.tg.wait_until(lambda: h.tg.calls_to("setMyCommands"), timeout=15)
    menus = [call.params for call in h.tg.calls_to("setMyCommands")]
    public = next(m for m in menus if "scope" not in m or "default" in str(m.get("scope")))
    offered = {c["command"] for c in _commands(public)}
    handled = {name for group in h.app.handlers.values() for handler in group
               if isinstance(handler, CommandHandler) for name in handler.commands}
    assert handled - offered == {"admin"}
    assert "mute" in offered
    assert "/mute " in (await h.say("/help")).text


def _commands(params: dict) -> list[dict]:
    import json
    commands = params["commands"]
    return json.loads(commands) if isinstance(commands, str) else commands


async def test_set_interval_fixed_auto_and_what_the_budget_allows(harness):
    """/set interval N|auto (SPEC §10): the reply, /list and /status say the interval the user
    gets; a plan's budget can lengthen it and says so; bad input changes nothing."""
    h = harness
    await setup_user(h, "hobbyist", "BTC ETH SOL")
    reply = await h.say("/set interval 60")
    assert reply.text == "✅ I'll poll your coins every 1 min."
    assert "Polling: every 1 min" in (await h.say("/list")).text
    assert "every 1 min" in (await h.say("/status")).text

    reply = await h.say("/set interval 10")          # 3 coins on 30 requests a minute
    assert "every 20 s (you asked for 10 s; your plan's budget allows no faster)" in reply.text

    reply = await h.say("/set interval auto")
    assert reply.text == "✅ I'll poll your coins every 20 s (as often as your plan's budget allows)."

    for bad in ("/set interval fast", "/set interval 0", "/set interval 90000"):
        reply = await h.say(bad)
        assert "Usage: /set interval SECONDS" in reply.text and "Nothing changed" in reply.text
    reply = await h.say("/set BTC interval 60")
    assert "one for all your coins" in reply.text
    assert "every 20 s (as often" in (await h.say("/list")).text         # still auto


async def test_set_interval_under_coinglass_s_refresh_says_what_it_buys(harness):
    h = harness
    await setup_user(h, "professional", "BTC")
    reply = await h.say("/set interval 2")
    assert reply.text.startswith("✅ I'll poll your coins every 2 s.")
    assert "refreshes open interest and liquidations every 10 s" in reply.text
