"""The Telegram simulator, driven by a real python-telegram-bot client over loopback HTTP.

The simulator keeps Telegram's flood limits on here, as it does by default, on a clock the tests
move: a test that sends twice into one private chat moves it a second on, as a paced bot would.
Flood control, photos, webhooks and start-up failures have their own ``test_telegram_*`` files.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import html

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from sim.telegram import BotMessage, TelegramSim, Upload
from sim.telegram.html import parse_html, utf16_len
from sim.telegram.testing import ManualClock, png_bytes

TOKEN = "123456:TEST-TOKEN"
USER = 4242


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
async def tg(clock):
    sim = TelegramSim(token=TOKEN, clock=clock)  # Telegram's flood limits: the default
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def bot(tg):
    async with Bot(TOKEN, base_url=tg.base_url) as bot:
        yield bot


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d) for d in data]])


# -- basics ------------------------------------------------------------------------------------


async def test_get_me_describes_the_bot(tg, bot):
    me = await bot.get_me()
    assert me.is_bot and me.username == "perpwatch_test_bot" and me.id == 123456
    assert tg.base_url.startswith("http://127.0.0.1:") and tg.base_url.endswith("/bot")


async def test_wrong_token_is_unauthorized(tg):
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=tg.base_url) as other:
            await other.get_me()
    assert tg.calls[-1].error_code == 401


async def test_unknown_method_is_404(tg):
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{tg.base_url}{TOKEN}/sendTelepathy", data={"x": "1"})
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


# -- updates and long polling --------------------------------------------------------------------


async def test_long_poll_wakes_as_soon_as_the_user_writes(tg, bot):
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_until(lambda: tg.is_polling, timeout=2)
    started = asyncio.get_running_loop().time()
    sent = tg.user_sends(USER, "/start")
    updates = await asyncio.wait_for(poll, 2)
    assert asyncio.get_running_loop().time() - started < 1
    assert [u.message.text for u in updates] == ["/start"]
    assert updates[0].message.message_id == sent["message_id"]
    entity = updates[0].message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, len("/start"))


async def test_long_poll_returns_empty_after_its_timeout(tg):
    async with httpx.AsyncClient() as client:
        started = asyncio.get_running_loop().time()
        response = await client.post(f"{tg.base_url}{TOKEN}/getUpdates", data={"timeout": "0.3"})
        elapsed = asyncio.get_running_loop().time() - started
    assert response.json() == {"ok": True, "result": []}
    assert 0.25 <= elapsed < 2


async def test_offset_confirms_and_drops_older_updates(tg, bot):
    tg.user_sends(USER, "one")
    tg.user_sends(USER, "two")
    first, second = await bot.get_updates()
    assert (first.message.text, second.message.text) == ("one", "two")
    assert [u.message.text for u in await bot.get_updates(offset=second.update_id)] == ["two"]
    assert await bot.get_updates(offset=second.update_id + 1) == ()
    assert await bot.get_updates() == ()  # confirmed updates are gone for good


async def test_limit_and_allowed_updates(tg, bot):
    for text in ("a", "b", "c"):
        tg.user_sends(USER, text)
    assert len(await bot.get_updates(limit=2)) == 2
    await bot.get_updates(offset=-1, allowed_updates=["callback_query"])
    tg.user_sends(USER, "filtered out")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["c"]


async def test_group_privacy_mode_delivers_only_commands(tg, bot):
    tg.user_sends(USER, "chatter", chat_id=-100, chat_type="group")
    tg.user_sends(USER, "/help@perpwatch_test_bot", chat_id=-100, chat_type="group")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates] == ["/help@perpwatch_test_bot"]
    assert updates[0].message.chat.type == "group"
    assert updates[0].message.entities[0].length == len("/help@perpwatch_test_bot")


async def test_second_poller_conflicts_with_the_first(tg, bot):
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await tg.wait_until(lambda: tg.is_polling, timeout=2)
    async with Bot(TOKEN, base_url=tg.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict):
        await asyncio.wait_for(first, 2)


async def test_reset_keeps_update_ids_increasing(tg, bot):
    tg.user_sends(USER, "before")
    (before,) = await bot.get_updates()
    tg.reset()
    tg.user_sends(USER, "after")
    (after,) = await bot.get_updates(offset=before.update_id + 1)
    assert after.update_id > before.update_id and tg.calls[-1].method == "getUpdates"


# -- sending and validation --------------------------------------------------------------------


async def test_send_records_html_plain_text_and_buttons(tg, bot):
    tg.user_sends(USER, "/start")
    sent = await bot.send_message(
        USER,
        '<b>BTC</b> funding &gt; 0.1% &amp; rising <a href="https://x.test/?a=1&amp;b=2">chart</a>',
        parse_mode=ParseMode.HTML,
        reply_markup=keyboard("set:funding_high:+", "set:funding_high:-"),
    )
    (msg,) = tg.messages(USER)
    assert isinstance(msg, BotMessage) and msg.message_id == sent.message_id
    assert msg.text == "BTC funding > 0.1% & rising chart" == sent.text
    assert msg.html.startswith("<b>BTC</b>") and msg.parse_mode == "HTML"
    assert msg.buttons == [
        [("set:funding_high:+", "set:funding_high:+"), ("set:funding_high:-", "set:funding_high:-")]
    ]
    assert [e.type for e in sent.entities] == ["bold", "text_link"]
    assert sent.entities[1].url == "https://x.test/?a=1&b=2"
    assert tg.sent_count(USER) == 1 and tg.sent_count() == 1


@pytest.mark.parametrize(
    "markup",
    [
        "<b>bold <i>both</i></b> <u>u</u> <s>s</s> <code>x &lt; y</code>",
        '<pre><code class="language-python">print(1)</code></pre>',
        '<tg-spoiler>a</tg-spoiler> <span class="tg-spoiler">b</span>',
        "<blockquote expandable>quote</blockquote> &#128200; &#x1F4C9; &quot;q&quot;",
    ],
)
async def test_valid_html_is_accepted(tg, bot, markup):
    tg.user_sends(USER, "/start")
    await bot.send_message(USER, markup, parse_mode=ParseMode.HTML)


@pytest.mark.parametrize(
    ("markup", "reason"),
    [
        ("<b>unclosed", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", "Unmatched end tag"),
        ("<br>line", 'Unsupported start tag "br"'),
        ("1 < 2", 'Unsupported start tag ""'),
        ("AT&T", "Character '&'"),
        ("&nbsp;", 'Unsupported HTML entity "&nbsp;"'),
        ('<span class="x">s</span>', 'must have class "tg-spoiler"'),
    ],
)
async def test_malformed_html_is_refused(tg, bot, markup, reason):
    tg.user_sends(USER, "/start")
    with pytest.raises(BadRequest, match="(?i)can't parse entities") as caught:
        await bot.send_message(USER, markup, parse_mode=ParseMode.HTML)
    assert reason.lower() in caught.value.message.lower()  # PTB lower-cases the description
    assert tg.messages(USER) == [] and tg.calls[-1].error_code == 400


@given(st.text())
def test_escaped_text_always_parses_back_to_itself(text):
    assert parse_html(html.escape(text)) == (text, [])
    plain, entities = parse_html(f"x<b>{html.escape(text)}</b>")
    assert plain == "x" + text
    assert entities == ([{"type": "bold", "offset": 1, "length": utf16_len(text)}] if text else [])


async def test_text_limits(tg, bot, clock):
    tg.user_sends(USER, "/start")
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER, "x" * 4097)
    clock.advance(1)
    await bot.send_message(USER, "😀" * 4096)  # the limit counts characters, not UTF-16 units
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(USER, "😀" * 4097)
    with pytest.raises(BadRequest, match="(?i)message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode=ParseMode.HTML)


async def test_callback_data_longer_than_64_bytes_is_refused(tg, bot):
    tg.user_sends(USER, "/start")
    with pytest.raises(BadRequest, match="(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(USER, "menu", reply_markup=keyboard("x" * 65))


async def test_unknown_chat_is_not_found(tg, bot):
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(777, "hello?")


async def test_reply_parameters_must_name_an_existing_message(tg, bot):
    asked = tg.user_sends(USER, "/setkey")
    reply = await bot.send_message(
        USER, "Send the key", reply_parameters=ReplyParameters(asked["message_id"])
    )
    assert reply.reply_to_message.text == "/setkey"
    assert tg.messages(USER)[0].reply_to == asked["message_id"]
    with pytest.raises(BadRequest, match="(?i)message to be replied not found"):
        await bot.send_message(USER, "x", reply_parameters=ReplyParameters(999))


# -- edits, deletes, buttons -------------------------------------------------------------------


async def test_edit_and_not_modified(tg, bot):
    tg.user_sends(USER, "/settings")
    sent = await bot.send_message(
        USER, "<b>Settings</b>", parse_mode="HTML", reply_markup=keyboard("a")
    )
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>Settings</b>", USER, sent.message_id, parse_mode="HTML", reply_markup=keyboard("a")
        )
    await bot.edit_message_text(
        "<b>Settings</b> saved",
        USER,
        sent.message_id,
        parse_mode="HTML",
        reply_markup=keyboard("a"),
    )
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=keyboard("a"))
    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=None)
    (msg,) = tg.messages(USER)
    assert (msg.text, msg.edited, msg.buttons, msg.reply_markup) == ("Settings saved", 2, [], None)


async def test_edit_and_delete_unknown_messages(tg, bot):
    user_msg = tg.user_sends(USER, "hi")
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("x", USER, 99)
    with pytest.raises(BadRequest, match="(?i)message can't be edited"):
        await bot.edit_message_text("x", USER, user_msg["message_id"])
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(USER, 99)


async def test_deleting_the_users_message_is_recorded(tg, bot):
    key_msg = tg.user_sends(USER, "/setkey SECRET")
    assert not tg.user_message_deleted(USER, key_msg["message_id"])
    assert await bot.delete_message(USER, key_msg["message_id"])
    assert tg.user_message_deleted(USER, key_msg["message_id"])
    with pytest.raises(BadRequest, match="(?i)message to delete not found"):
        await bot.delete_message(USER, key_msg["message_id"])


async def test_deleting_a_bot_message_keeps_it_for_inspection(tg, bot):
    tg.user_sends(USER, "/start")
    sent = await bot.send_message(USER, "temporary")
    await bot.delete_message(USER, sent.message_id)
    assert tg.messages(USER) == []
    (gone,) = tg.messages(USER, include_deleted=True)
    assert gone.deleted


async def test_pressing_a_button_creates_a_callback_query(tg, bot):
    tg.user_sends(USER, "/forget")
    sent = await bot.send_message(USER, "Sure?", reply_markup=keyboard("forget:yes", "forget:no"))
    with pytest.raises(ValueError, match="no button"):
        tg.user_presses(USER, sent.message_id, "forget:maybe")
    query_id = tg.user_presses(USER, sent.message_id, "forget:yes")
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert (query.id, query.data) == (query_id, "forget:yes")
    assert query.message.message_id == sent.message_id
    await bot.answer_callback_query(query_id, text="Deleted")
    assert tg.callback_answers(query_id) == [{"callback_query_id": query_id, "text": "Deleted"}]
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query("nope")


# -- blocked users and injected faults -----------------------------------------------


async def test_blocked_user_is_forbidden_until_they_write_again(tg, bot):
    tg.user_sends(USER, "/start")
    tg.user_blocks_bot(USER)
    with pytest.raises(Forbidden, match="(?i)bot was blocked by the user"):
        await bot.send_message(USER, "alert")
    updates = await bot.get_updates()
    assert [u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member] == [
        "kicked"
    ]
    tg.user_sends(USER, "/start")  # "Restart" unblocks
    await bot.send_message(USER, "welcome back")
    assert tg.sent_count(USER) == 1


async def test_fail_next_injects_errors_then_recovers(tg, bot, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    tg.user_sends(USER, "/start")
    tg.fail_next("sendMessage", error_code=429, retry_after=3)
    tg.fail_next("sendMessage", error_code=400, description="Bad Request: chat is deactivated")
    tg.fail_next("sendMessage", error_code=403)
    tg.fail_next("sendMessage", error_code=502, times=2)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "x")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    with pytest.raises(BadRequest, match="(?i)chat is deactivated"):
        await bot.send_message(USER, "x")
    with pytest.raises(Forbidden):
        await bot.send_message(USER, "x")
    for _ in range(2):
        with pytest.raises(NetworkError):
            await bot.send_message(USER, "x")
    await bot.send_message(USER, "finally")
    assert [c.error_code for c in tg.calls_to("sendMessage")] == [429, 400, 403, 502, 502, None]
    assert [m.text for m in tg.messages(USER)] == ["finally"]


async def test_fail_next_can_lose_the_answer_after_delivering(tg, bot, clock):
    tg.user_sends(USER, "/start")
    tg.fail_next("sendMessage", error_code=502, deliver=True)
    with pytest.raises(NetworkError):
        await bot.send_message(USER, "alert")
    clock.advance(1)
    await bot.send_message(USER, "alert")  # a naive retry duplicates the message
    assert [m.text for m in tg.messages(USER)] == ["alert", "alert"]
    assert tg.sent_count(USER) == 2 and [c.ok for c in tg.calls_to("sendMessage")] == [False, True]


# -- photos, commands, chats -----------------------------------------------------------------------


async def test_send_photo_by_upload_and_by_url(tg, bot, clock):
    tg.user_sends(USER, "/snapshot BTC")
    png = png_bytes(64, 48)
    sent = await bot.send_photo(USER, png, caption="<b>BTC</b> heatmap", parse_mode="HTML")
    clock.advance(1)
    await bot.send_photo(USER, "https://example.test/chart.png")
    first, second = tg.messages(USER)
    assert first.photo and first.text == "BTC heatmap" and first.html == "<b>BTC</b> heatmap"
    assert sent.caption == "BTC heatmap" and sent.photo
    upload = tg.calls_to("sendPhoto")[0].params["photo"]
    assert isinstance(upload, Upload) and upload.data == png
    assert second.photo and second.photo_source == "https://example.test/chart.png"
    assert tg.sent_count(USER, method="sendPhoto") == 2
    with pytest.raises(BadRequest, match="(?i)there is no text in the message to edit"):
        await bot.edit_message_text("x", USER, first.message_id)


async def test_set_my_commands_is_recorded(tg, bot):
    await bot.set_my_commands([("start", "Begin"), ("subscribe", "Watch coins")])
    assert tg.commands == [
        {"command": "start", "description": "Begin"},
        {"command": "subscribe", "description": "Watch coins"},
    ]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "subscribe"]
    with pytest.raises(BadRequest, match="(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([("Start", "capital letters are refused")])
    await bot.delete_my_commands()
    assert tg.commands == [] and await bot.get_my_commands() == ()


async def test_chat_action_and_get_chat(tg, bot):
    tg.user_sends(USER, "/start", first_name="Ada", username="ada")
    assert await bot.send_chat_action(USER, "typing")
    chat = await bot.get_chat(USER)
    assert (chat.id, chat.type, chat.first_name, chat.username) == (USER, "private", "Ada", "ada")


# -- waiting helpers ---------------------------------------------------------------------------


async def test_wait_for_message_explains_a_timeout(tg, bot):
    tg.user_sends(USER, "/start")
    welcome = await bot.send_message(USER, "Welcome")
    with pytest.raises(TimeoutError) as caught:
        await tg.wait_for_message(USER, "Goodbye", timeout=0.05)
    assert "'Welcome'" in str(caught.value) and f"chat {USER}" in str(caught.value)
    assert (await tg.wait_for_message(USER, "Welcome")).text == "Welcome"
    with pytest.raises(TimeoutError):
        await tg.wait_for_message(USER, "Welcome", after=welcome.message_id, timeout=0.05)


async def test_wait_for_call_and_wait_until(tg, bot):
    tg.user_sends(USER, "/start")
    since = len(tg.calls)
    task = asyncio.create_task(bot.send_message(USER, "later"))
    call = await tg.wait_for_call("sendMessage", since=since, timeout=2)
    assert call.ok and call.params["chat_id"] == USER and call.params["text"] == "later"
    await tg.wait_until(lambda: tg.sent_count(USER) == 1, timeout=2)
    await task


async def test_many_concurrent_sends_arrive_once_each(tg, bot):
    tg.set_flood(None)  # the HTTP server's concurrency is under test here, not the limits
    for user in range(1, 21):
        tg.user_sends(user, "/start")
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(bot.send_message(1 + i % 20, f"alert {i}") for i in range(300)))
    elapsed = asyncio.get_running_loop().time() - started
    texts = sorted(m.text for m in tg.messages())
    assert texts == sorted(f"alert {i}" for i in range(300))
    assert elapsed < 5, f"300 sends took {elapsed:.2f}s"


# -- a real Application ------------------------------------------------------------------------


async def test_application_polls_replies_and_edits_on_button_press(tg):
    async def start(update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_html(
            "Hello <b>trader</b>", reply_markup=keyboard("go:1")
        )

    async def pressed(update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("done")
        await query.edit_message_text(f"You pressed <code>{query.data}</code>", parse_mode="HTML")

    app = ApplicationBuilder().token(TOKEN).base_url(tg.base_url).build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed, pattern=r"^go:\d+$"))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0.0, timeout=1)
    try:
        tg.user_sends(USER, "/start")
        hello = await tg.wait_for_message(USER, "Hello trader")
        assert hello.buttons == [[("go:1", "go:1")]]
        query_id = tg.user_presses(USER, hello.message_id, "go:1")
        edited = await tg.wait_for_message(USER, "You pressed go:1")
        assert edited.message_id == hello.message_id and edited.edited == 1 and edited.buttons == []
        await tg.wait_until(lambda: tg.callback_answers(query_id) != [], timeout=2)
        assert tg.callback_answers(query_id)[0]["text"] == "done"
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    assert tg.calls_to("deleteWebhook") and tg.calls_to("getMe")
    assert [c for c in tg.calls if not c.ok] == []  # including the poll abandoned at shutdown
