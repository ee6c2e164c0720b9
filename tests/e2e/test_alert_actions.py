"""What a trader does with an alert, and the fixes that came with the new alert (issue 11):
Mute from the alert, /mute and /resume SYM, a /resume that repeats nothing, decimal commas."""

from __future__ import annotations

from tests.e2e.conftest import KEYS, USER
from tests.e2e.test_alerts import alerts_for, onboard, triggered, wait_polls, witness_polls


def button(message, prefix: str) -> str:
    return next(data for row in message.buttons for _, data in row
                if (data or "").startswith(prefix))


async def test_mute_from_the_alert_silences_that_coin_until_resume_sym(harness):
    h = harness
    await onboard(h, "ETH SOL")
    await wait_polls(h, 1)
    h.cg.market.scenario("cascade", "ETH")
    alert = await h.tg.wait_for_message(USER, "🔴 ETH", timeout=15)
    await wait_polls(h, 2)
    before = len(alerts_for(h, "ETH"))            # a faster figure may have alerted first
    await h.press(alert, button(alert, "mute:ETH:4h"))
    await h.tg.wait_until(lambda: h.services.repo.mutes(USER).get("ETH", 0) > 0, timeout=5)
    alert = await h.tg.wait_for_message(
        USER, predicate=lambda m: m.message_id == alert.message_id
        and any("Unmute" in t for row in m.buttons for t, _ in row))
    # While muted: ETH stays watched, a new ETH signal alerts nobody; SOL still alerts.
    await make_crowded(h, "ETH")                              # a new signal fires now
    h.cg.market.scenario("cascade", "SOL")
    await h.tg.wait_for_message(USER, "🔴 SOL", timeout=15)
    await wait_polls(h, 2)
    assert len(alerts_for(h, "ETH")) == before
    listing = await h.say("/mute")
    assert "ETH until" in listing.text
    reply = await h.say("/resume ETH", contains="unmuted")
    assert "ETH" in reply.text and h.services.repo.mutes(USER) == {}
    # What started during the mute alerts now; what was alerted before it does not repeat.
    late = await h.tg.wait_for_message(USER, "crowded", timeout=15, after=reply.message_id)
    assert late in alerts_for(h, "ETH") and "new" in late.text
    assert triggered(h, "ETH", "liquidation_cascade") == 1


async def make_crowded(h, coin: str) -> None:
    """Set the coin's long/short limit just under what the market shows: ls_extreme fires."""
    import re
    ratio = await h.say(f"/snapshot {coin} ratio", contains="accounts")
    long_pct, short_pct = map(float, re.search(r"Retail accounts: ([\d.]+) % long / ([\d.]+) %",
                                               ratio.text).groups())
    name, share = ("long_ratio_high", long_pct) if long_pct >= short_pct else (
        "short_ratio_high", short_pct)
    await h.say(f"/set {coin} {name} {max(50.5, int(share) - 1)}", contains="✅")


async def test_mute_command_bad_input_changes_nothing(harness):
    h = harness
    await onboard(h, "ETH")
    for text, expected in (("/mute ETH soon", "not a duration"), ("/mute DOGE", "don't watch"),
                           ("/mute ETH 90", "Nothing changed"), ("/resume BTC", "was not muted")):
        reply = await h.say(text)
        assert expected in reply.text, (text, reply.text)
    assert h.services.repo.mutes(USER) == {}
    reply = await h.say("/mute ETH 1.5h", contains="muted until")
    assert "ETH" in reply.text


async def test_resume_after_a_short_pause_repeats_nothing(harness):
    h = harness
    await onboard(h, "ETH")
    await wait_polls(h, 1)
    h.cg.market.scenario("cascade", "ETH")
    await h.tg.wait_for_message(USER, "🔴 ETH", timeout=15)
    await wait_polls(h, 2)
    before = len(alerts_for(h, "ETH"))
    await h.say("/pause 30m", contains="paused")
    await h.say("/resume", contains="resumed")
    await wait_polls(h, 3)
    await witness_polls(h, 1)
    assert len(alerts_for(h, "ETH")) == before             # nothing repeated by the resume
    assert triggered(h, "ETH", "liquidation_cascade") == 1


async def test_a_signal_that_started_during_the_pause_is_new_after_resume(harness):
    h = harness
    await onboard(h, "SOL")
    await wait_polls(h, 1)
    await h.say("/pause", contains="paused")
    h.cg.market.scenario("cascade", "SOL")
    await witness_polls(h, 2)
    assert alerts_for(h, "SOL") == []
    await h.say("/resume", contains="resumed")
    alert = await h.tg.wait_for_message(USER, "🔴 SOL", timeout=15)
    assert "new" in alert.text


async def test_decimal_commas_and_thousands_are_read_as_a_trader_means(harness):
    h = harness
    await h.say(f"/setkey {KEYS['startup']}", contains="Key saved")
    repo = h.services.repo
    reply = await h.say("/set oi_change 3,5")
    assert "3.5 %" in reply.text and repo.thresholds(USER)[0]["oi_change"] == 3.5
    reply = await h.say("/set liquidation_usd 50,000,000")
    assert "$50M" in reply.text and repo.thresholds(USER)[0]["liquidation_usd"] == 5e7
    reply = await h.say("/set cooldown_low 1,500")          # 1.5 or 1500 minutes? ask
    assert "could be 1.5" in reply.text and "1500" in reply.text
    assert "Nothing changed" in reply.text and "cooldown_low" not in repo.thresholds(USER)[0]
    reply = await h.say("/set oi_chnage 4")
    assert "Did you mean" in reply.text and "oi_change" in reply.text
    assert repo.thresholds(USER)[0]["oi_change"] == 3.5
