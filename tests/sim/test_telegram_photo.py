"""sendPhoto as Telegram does it: multipart uploads of PNG or JPEG, captions checked like text."""

from __future__ import annotations

import struct

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest

from sim.telegram import TelegramSim, Upload
from sim.telegram.testing import ManualClock, png_bytes

TOKEN = "123456:TEST-TOKEN"
USER = 4242


def jpeg_header(width: int, height: int) -> bytes:
    """The start of a baseline JPEG: SOI, a JFIF APP0 segment, then the frame header."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"
    return (
        b"\xff\xd8"
        + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0
        + b"\xff\xc0" + struct.pack(">H", len(sof0) + 2) + sof0
        + b"\xff\xd9"
    )


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
async def tg(clock):
    async with TelegramSim(token=TOKEN, clock=clock) as sim:
        sim.user_sends(USER, "/snapshot BTC")
        yield sim


@pytest.fixture
async def bot(tg):
    async with Bot(TOKEN, base_url=tg.base_url) as bot:
        yield bot


async def test_an_uploaded_png_is_kept_with_its_size(tg, bot):
    png = png_bytes(640, 360)
    sent = await bot.send_photo(USER, png, caption="<b>BTC</b> heatmap", parse_mode="HTML")
    (msg,) = tg.messages(USER)
    assert msg.photo and msg.photo_data == png and msg.photo_size == len(png)
    assert (msg.photo_width, msg.photo_height) == (640, 360)
    assert (msg.text, msg.html) == ("BTC heatmap", "<b>BTC</b> heatmap")
    size = sent.photo[-1]
    assert (size.width, size.height, size.file_size) == (640, 360, len(png))
    assert [e.type for e in sent.caption_entities] == ["bold"]
    upload = tg.calls_to("sendPhoto")[0].params["photo"]
    assert isinstance(upload, Upload) and upload.data == png  # arrived as multipart/form-data


async def test_a_jpeg_is_accepted_and_measured(tg, bot):
    await bot.send_photo(USER, jpeg_header(1280, 720))
    (msg,) = tg.messages(USER)
    assert (msg.photo_width, msg.photo_height) == (1280, 720) and msg.text == ""


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b'<svg xmlns="http://www.w3.org/2000/svg"/>',
        b"GIF89a\x01\x00\x01\x00",
        b"\x89PNG\r\n\x1a\n" + b"\0" * 64,  # a PNG signature with no IHDR behind it
        b"\xff\xd8\xff\xd9",  # a JPEG with no frame
    ],
)
async def test_anything_but_png_or_jpeg_fails_to_process(tg, bot, data):
    with pytest.raises(BadRequest, match="(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, data, filename="chart.png")
    assert tg.messages(USER) == [] and tg.send_times(USER) == []


async def test_dimensions_beyond_telegrams_limits_are_refused(tg, bot):
    with pytest.raises(BadRequest, match="(?i)PHOTO_INVALID_DIMENSIONS"):
        await bot.send_photo(USER, png_bytes(2100, 100))  # aspect ratio above 20


async def test_caption_html_is_validated_like_message_text(tg, bot, clock):
    with pytest.raises(BadRequest, match="(?i)can't parse entities.*unsupported start tag"):
        await bot.send_photo(USER, png_bytes(), caption="1 <br> 2", parse_mode="HTML")
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.send_photo(USER, png_bytes(), caption="x" * 1025)
    # 1,024 characters once the tags are parsed away
    await bot.send_photo(USER, png_bytes(), caption=f"<b>{'x' * 1024}</b>", parse_mode="HTML")
    assert len(tg.messages(USER)[0].text) == 1024


async def test_a_file_id_resends_the_same_photo_and_unknown_ones_are_refused(tg, bot, clock):
    png = png_bytes(320, 200)
    first = await bot.send_photo(USER, png)
    clock.advance(1)
    again = await bot.send_photo(USER, first.photo[-1].file_id)
    assert again.photo[-1].file_id == first.photo[-1].file_id
    assert tg.messages(USER)[1].photo_data == png and tg.messages(USER)[1].photo_width == 320
    with pytest.raises(BadRequest, match="(?i)wrong file identifier/HTTP URL specified"):
        await bot.send_photo(USER, "AgACAgSimUnknown")


async def test_a_url_is_taken_as_is(tg):
    async with httpx.AsyncClient() as client:
        answer = await client.post(
            f"{tg.base_url}{TOKEN}/sendPhoto",
            json={"chat_id": USER, "photo": "https://example.test/chart.png", "caption": "c"},
        )
    assert answer.json()["result"]["caption"] == "c"
    (msg,) = tg.messages(USER)
    assert msg.photo_source == "https://example.test/chart.png" and msg.photo_data is None


async def test_captions_are_edited_under_the_same_rules(tg, bot):
    sent = await bot.send_photo(USER, png_bytes(), caption="old")
    with pytest.raises(BadRequest, match="(?i)message caption is too long"):
        await bot.edit_message_caption(USER, sent.message_id, caption="y" * 1025)
    await bot.edit_message_caption(USER, sent.message_id, caption="<i>new</i>", parse_mode="HTML")
    assert tg.messages(USER)[0].text == "new" and tg.messages(USER)[0].photo_width == 4
