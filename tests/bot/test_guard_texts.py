"""The guard's advice and /position replies as the trader reads them: the first line says what
to consider doing, the position's own levels once, the data and plan, what the plan cannot
see once, "Not financial advice"; valid Telegram HTML with user text escaped."""

from __future__ import annotations

from datetime import datetime, timezone

from bot import guard_texts as gt
from bot import keyboards, texts
from core.guard_alerts import Guarded, decide_guard
from core.guard_prices import PriceNow
from core.numbers import Ambiguous
from core.plans import Plan
from core.position_guard import GuardState, Phase, Position
from core.storage.repo import OutboxItem
from sim.telegram.html import parse_html
from tests.bot.test_texts import NOW, plain
from tests.core.signals.factories import clusters, open_interest, price, snap, th

OPENED = datetime(2026, 5, 11, 6, 0, tzinfo=timezone.utc)
POSITION = Position("ETH", "long", 3150.0, 3120.0, None, OPENED)


def advice_item(market, position=POSITION, created_at=NOW - 5, **kw) -> OutboxItem:
    step = decide_guard(Guarded(position, GuardState.start(position)), market, th(), {}, NOW,
                        **kw)
    row = step.alert
    assert row is not None
    return OutboxItem(id=7, user_id=1, coin=row["coin"], kind="alert", level=row["level"],
                      payload=row["payload"], created_at=created_at, attempts=0,
                      data_time=row["data_time"])


def near_cluster(plan=Plan.PROFESSIONAL):
    return snap("ETH", plan, price=price(change=0.1, last=3160.0),
                clusters=clusters(("long", 3080.0, 120e6)))


def valid_html(text: str) -> str:
    parse_html(text)                  # raises on what Telegram would refuse
    return plain(text)


def test_stop_advice_reads_at_a_glance():
    text = valid_html(gt.advice_text(advice_item(near_cluster()), NOW))
    lines = text.split("\n")
    assert lines[0] == "🛡 ETH long: consider moving your stop below 3,060"
    assert ("$120.0M of long liquidations at 3,080, 40 below your stop at 3,120 — a sweep would "
            "take it") in lines[1]
    assert "liquidation map (1d range), on your Professional plan" in lines[1]
    assert "Your ETH long from 3,150 · stop 3,120 · no tp" in text
    assert "now 3,160 (data " in text and "P&L +0.32 % · OPEN" in text
    assert text.rstrip().endswith("Not financial advice. /position lists your positions.")
    assert "cannot see" not in text
    assert len(lines) <= 8


def test_what_the_plan_cannot_see_is_said_once():
    hobbyist = snap("ETH", Plan.HOBBYIST, price=price(change=-1.0, last=3130.0),
                    open_interest=open_interest(-3.0, -4.0))
    text = valid_html(gt.advice_text(advice_item(hobbyist), NOW))
    assert text.split("\n")[0].startswith("🛡 ETH long: consider an early exit")
    assert text.count("liquidation clusters need Professional") == 1
    assert ("Your Hobbyist plan cannot see: liquidation clusters need Professional; order-book "
            "walls need Standard; Hyperliquid whales need Startup.") in text


def test_several_pieces_of_advice_lead_with_the_most_urgent():
    market = snap("ETH", Plan.PROFESSIONAL, price=price(change=-1.0, last=3130.0),
                  open_interest=open_interest(-3.0, -4.0),
                  clusters=clusters(("long", 3080.0, 120e6)))
    text = valid_html(gt.advice_text(advice_item(market), NOW))
    heads = [line for line in text.split("\n") if line.startswith("🛡")]
    assert heads[0].startswith("🛡 ETH long: consider an early exit")
    assert heads[1] == "🛡 ETH long: consider moving your stop below 3,060"
    assert "EXIT (an exit condition holds)" in text
    assert text.count("Not financial advice") == 1 and text.count("Your ETH long") == 1


def test_a_late_delivery_says_so():
    text = valid_html(gt.advice_text(advice_item(near_cluster(), created_at=NOW - 600), NOW))
    assert "10 min late" in text.split("\n")[1]


def test_the_outbox_renders_advice_and_history_names_it():
    item = advice_item(near_cluster())
    assert texts.render_outbox(item, NOW) == gt.advice_text(item, NOW)
    history = plain(texts.history_text([item], NOW))
    assert "🛡 ETH long: consider moving your stop below 3,060" in history


def test_advice_buttons_fit_telegram():
    data = [b.callback_data for row in keyboards.advice_buttons("ETH").inline_keyboard
            for b in row]
    assert data == ["chart:ETH", "pos:list", "pos:close:ETH"]
    assert all(len(d.encode()) <= 64 for d in data)


def test_the_list_shows_live_pnl_phase_and_the_trailed_stop():
    locked = Guarded(Position("BTC", "short", 95_000.0, 97_000.0, 90_000.0, OPENED),
                     GuardState(Phase.LOCKED, 93_000.0, 93_930.0))
    text = valid_html(gt.positions_text(
        [(Guarded(POSITION, GuardState.start(POSITION)), PriceNow(3160.0, NOW - 20, False)),
         (locked, PriceNow(93_500.0, NOW, True))],
        "Standard", ["liquidation clusters need Professional"], NOW))
    assert "ETH long from 3,150 · stop 3,120 · no tp" in text
    assert "now 3,160" in text and "P&L +0.32 % · OPEN" in text
    assert "BTC short from 95,000 · stop 97,000 · tp 90,000 · trailed stop 93,930" in text
    assert "P&L +1.58 % · LOCKED" in text
    assert text.count("liquidation clusters need Professional") == 1
    assert "Not financial advice" in text


def test_the_list_without_a_price_says_so_and_guesses_nothing():
    text = valid_html(gt.positions_text(
        [(Guarded(POSITION, GuardState.start(POSITION)), None)], None, [], NOW, priced=False))
    assert "price unavailable right now · OPEN (prices after /setkey)" in text
    assert "P&L" not in text


def test_no_positions_says_how_to_declare_one():
    text = valid_html(gt.positions_text([], "Hobbyist", [], NOW))
    assert "/position ETH long 3150 stop 3080 tp 3300" in text


def test_a_declaration_says_how_it_locks_and_trails():
    text = valid_html(gt.declared(POSITION, PriceNow(3160.0, NOW, False), lock_at=1.5,
                                  trail=1.0, gaps=["order-book walls need Standard"],
                                  notes=[gt.polled_only("ETH")], now=NOW))
    assert text.startswith("🛡 Guarding your ETH long from 3,150 · stop 3,120 · no tp.")
    assert "It locks at +1.50 % (3,197.25)" in text and "trail it 1 % behind" in text
    assert "Your plan cannot see: order-book walls need Standard." in text
    assert "ETH is not in your /subscribe list" in text


def test_a_declaration_past_its_stop_or_take_profit_says_so_at_once():
    through = valid_html(gt.declared(POSITION, PriceNow(3003.0, NOW, False), lock_at=1.5,
                                     trail=1.0, gaps=[], now=NOW))
    assert "The price is already through your stop (3,120)" in through
    short = Position("ETH", "short", 3150.0, 3300.0, 3050.0, OPENED)
    at_tp = gt.declared(short, PriceNow(3003.0, NOW, False), lock_at=1.5, trail=1.0, gaps=[],
                        now=NOW)
    assert "The price is already at your take-profit (3,050)" in at_tp
    calm = gt.declared(POSITION, PriceNow(3160.0, NOW, False), lock_at=1.5, trail=1.0, gaps=[],
                       now=NOW)
    assert "already" not in calm


def test_user_text_is_escaped():
    odd = Position("A<B", "long", 1.0, None, None, OPENED)
    text = gt.declared(odd, None, lock_at=1.5, trail=1.0, gaps=[], now=NOW)
    assert "A&lt;B" in text and "<B" not in text.replace("<b>", "").replace("</b>", "")
    valid_html(text)
    valid_html(gt.usage("The side must be long or short, not “<i>”."))
    valid_html(gt.unknown_coin("<X>", ["X"]))


def test_an_ambiguous_price_is_asked_back():
    text = valid_html(gt.ambiguous([("entry", Ambiguous("1,500", 1.5, 1500.0))]))
    assert "1,500 could be 1.5 or 1,500 for the entry" in text and "Nothing was saved" in text
