"""Every text the bot sends, as pure functions of domain data (HTML, user text escaped).

Handlers decide *what* happened; this module says it. Nothing here touches Telegram, so it is
unit-tested directly.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from bot import alert_texts, guard_texts, hours_texts, rule_texts
from bot.settings_texts import (  # noqa: F401 - texts.X is how handlers reach them
    SETTINGS_CLOSED, SETTINGS_PRESETS, SETTINGS_THRESHOLDS, list_text, plan_text,
    plans_overview, polling_phrase, preset_applied, preset_preview, set_usage,
    settings_main, settings_signals, settings_threshold, threshold_set, unknown_threshold,
)
from bot.format import (
    DIRECTION_MARK, LEVEL_EMOJI, duration, esc, fit, interval, pct, price, usd, when,
)
from core import market as m
from core.coinglass import errors as e
from core.coinglass.detect import PlanDetection
from core.plans import PLAN_INFO, Plan
from core.signals.catalog import SIGNAL_INFO, SIGNALS
from core.signals.model import Level, RegimeReading, Signal
from core.budget import Budget
from core.freshness import MIN_AUTO_INTERVAL
from core.timezones import tz_of
from core.storage.repo import OutboxItem
from core.users import User
from core.stream.status import StreamStatus

NFA = "<i>Not financial advice.</i>"

COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "start here: what to do next"),
    ("help", "every command, one line each"),
    ("setkey", "save your CoinGlass API key (encrypted)"),
    ("plan", "your CoinGlass plan and what it unlocks"),
    ("subscribe", "watch coins: /subscribe ETH SOL"),
    ("unsubscribe", "stop watching: /unsubscribe ETH, or all"),
    ("list", "your coins, interval and every threshold"),
    ("set", "change a threshold: /set oi_change 3"),
    ("settings", "all settings as buttons"),
    ("snapshot", "the market now: /snapshot ETH"),
    ("chart", "a chart: /chart ETH, /chart ETH 7d"),
    ("alert", "your own rule: /alert ETH price > 4000"),
    ("alerts", "your rules, numbered; /alert del N removes one"),
    ("position", "guard a position: /position ETH long 3150 stop 3080"),
    ("status", "key, plan, usage, last and next poll"),
    ("history", "your last 10 alerts and what followed them"),
    ("stats", "your alert record: /stats, /stats ETH 7d"),
    ("pause", "mute alerts: /pause, /pause 2h"),
    ("resume", "unmute alerts, or one coin: /resume ETH"),
    ("mute", "silence one coin: /mute ETH, /mute ETH 4h"),
    ("timezone", "your timezone: /timezone Berlin, /timezone +3"),
    ("quiet", "quiet hours: /quiet 23:00-07:00 (HIGH still comes)"),
    ("digest", "a daily summary: /digest 08:00"),
    ("forget", "delete everything I store about you"),
    ("cancel", "leave the current step"),
)
ADMIN_COMMAND = ("admin", "operator overview (admins only)")


# --- start, help, fallbacks -----------------------------------------------------------------

def help_text(is_admin: bool = False, bot_username: str | None = None) -> str:
    commands = COMMANDS + ((ADMIN_COMMAND,) if is_admin else ())
    lines = ["<b>perpwatch</b> watches CoinGlass derivatives data for your coins and alerts you "
             "here when the market gets dangerous.", ""]
    lines += [f"/{name} — {esc(about)}" for name, about in commands]
    lines += ["", rule_texts.link_line(bot_username)]
    lines += ["", "Thresholds: /list shows them, /set changes them. " + NFA]
    return "\n".join(lines)


def start_text(user: User, coins: list[str], created: bool, budget: Budget) -> str:
    hello = "👋 Welcome to <b>perpwatch</b>." if created else "👋 Welcome back."
    if user.key_state != "valid":
        step = ("Your saved key was rejected by CoinGlass — send a new one with /setkey."
                if user.key_state == "rejected" else
                "First, your CoinGlass API key: send /setkey (get a key at coinglass.com → API; "
                "any paid plan works).")
        if coins:
            step += f"\nYou already watch {esc(', '.join(coins))}."
        return f"{hello}\n{step}"
    if not coins:
        return f"{hello}\nYour key is set. Next: pick coins, e.g. /subscribe BTC (or /subscribe for buttons)."
    paused = " Alerts are paused (/resume)." if user.paused else ""
    return (f"{hello}\nWatching {esc(', '.join(coins))} {polling_phrase(budget)} on your "
            f"{budget.plan.title} plan.{paused}\n"
            "/list shows your settings, /snapshot ETH the market now.")


GROUP_ONLY = ("I keep settings in private chats only. Open a private chat with me and send /start "
              "— in groups I answer /start and /help.")
UNKNOWN_TEXT = "I only understand commands. /help lists them — or try /snapshot BTC."
NOTHING_TO_CANCEL = "Nothing to cancel. /help lists what I can do."
ERROR_TEXT = "⚠️ Something went wrong on my side; nothing was changed. Please try again."


def unknown_command(command: str) -> str:
    return f"I don't know {esc(command[:64])} — /help lists what I can do."


# --- keys and plans -------------------------------------------------------------------------

SETKEY_PROMPT = ("Send me your CoinGlass API key as the next message (coinglass.com → API). "
                 "I delete that message right away and store the key encrypted. /cancel to stop.")
SETKEY_CANCELLED = "Cancelled — no key was saved."
KEY_DELETED = "🔐 I deleted your message with the key."
KEY_NOT_DELETED = "🔐 I could not delete your message with the key — please delete it yourself."
SETKEY_MALFORMED = ("That doesn't look like a CoinGlass API key (one word, letters and digits). "
                    "Nothing was saved. Copy it from coinglass.com → API and send /setkey again.")
SETKEY_GROUP = ("🔐 I deleted that message: never paste an API key in a group. Open a private "
                "chat with me and send /setkey there.")
SETKEY_GROUP_NOT_DELETED = ("⚠️ Never paste an API key in a group — please delete that message "
                            "and revoke the key at coinglass.com. Send /setkey in a private chat "
                            "with me instead.")
SETKEY_INVALID = ("❌ CoinGlass rejected that key (invalid or revoked). Nothing was saved. "
                  "Check it at coinglass.com → API and send /setkey again.")
SETKEY_LAPSED = ("⚠️ CoinGlass knows that key, but its subscription is not active (expired or "
                 "no plan). Nothing was saved. Renew at coinglass.com/pricing, then /setkey again.")


def coinglass_failure(error: Exception) -> str:
    """A CoinGlass failure in a few words a user understands (never the raw body)."""
    for kind, words in ((e.Timeout, "no answer in time"), (e.TransportError, "network error"),
                        (e.RateLimited, "CoinGlass is rate-limiting this key right now"),
                        (e.MalformedResponse, "CoinGlass sent an unreadable answer"),
                        (e.EndpointNotFound, "CoinGlass did not recognise the request"),
                        (e.UpstreamError, "CoinGlass server error"),
                        (e.BadParameters, "CoinGlass refused the request")):
        if isinstance(error, kind):
            return words
    return "CoinGlass error"


def setkey_unreachable(reason: str) -> str:
    return (f"⏳ I couldn't reach CoinGlass to check the key ({esc(reason)}). Nothing was saved "
            "— please send /setkey again in a few minutes.")


def setkey_saved(detection: PlanDetection, coins: list[str], budget: Budget) -> str:
    lines = [f"✅ Key saved, encrypted. Plan: <b>{detection.plan.title}</b> — "
             f"{detection.per_minute} requests/min."]
    if coins:
        lines.append(f"Watching {esc(', '.join(coins))} {polling_phrase(budget)}.")
    else:
        lines.append("Next: /subscribe BTC (or /subscribe for buttons).")
    return "\n".join(lines)


def budget_note(budget: Budget) -> str:
    return (f"⏱ Your {budget.plan.title} plan allows {budget.per_minute} requests/min, so I "
            f"poll your {budget.coins} coin{'s' if budget.coins != 1 else ''} every "
            f"{interval(budget.interval)} to stay within it.")


def plan_names(given: str) -> str:
    return (f"I don't know the plan {esc(given[:40])}. Valid names: "
            + ", ".join(p.name.lower() for p in Plan) + ", or auto.")


def plan_overridden(plan: Plan | None, user: User, budget: Budget) -> str:
    if plan is None:
        detected = user.plan.title if user.plan else "unknown until /setkey"
        return (f"OK — back to the detected plan ({detected}): {budget.per_minute} "
                f"requests/min, polling {polling_phrase(budget)}.")
    return (f"OK — I'll treat your key as <b>{plan.title}</b>: {budget.per_minute} requests/min, "
            f"polling {polling_phrase(budget)}. If CoinGlass refuses an endpoint I drop it and "
            "tell you once. /plan auto undoes this.")


# --- coins ----------------------------------------------------------------------------------

def subscribe_result(*, added: list[str], already: list[str], unknown: Mapping[str, list[str]],
                     malformed: list[str], has_key: bool, unchecked: bool,
                     raised: Budget | None, total: int,
                     limit_hit: list[str] | None = None) -> str:
    lines = []
    if added:
        lines.append(f"✅ Watching {esc(', '.join(added))}.")
    if already:
        lines.append(f"Already watching {esc(', '.join(already))}.")
    for coin, close in unknown.items():
        hint = f" Did you mean {esc(', '.join(close))}?" if close else ""
        lines.append(f"❓ Unknown coin {esc(coin)}: CoinGlass has no futures data for it.{hint}")
    if malformed:
        lines.append(f"Not a coin symbol: {esc(', '.join(t[:30] for t in malformed[:5]))}. "
                     "Use symbols like BTC or ETH.")
    if limit_hit:
        lines.append(f"You can watch at most {total} coins; not added: {esc(', '.join(limit_hit))}.")
    if added and not has_key:
        lines.append("Alerts start after /setkey (your CoinGlass key).")
    elif added and unchecked:
        lines.append("(CoinGlass's coin list was unavailable, so I could not check the symbols.)")
    if raised:
        lines.append(budget_note(raised))
    if not lines:
        lines.append("Tell me which coins: /subscribe ETH, /subscribe eth sol or /subscribe $BTC,ETH.")
    return "\n".join(lines)


SUBSCRIBE_PICK = "Tap coins to watch them (or type /subscribe ETH SOL):"


def unsubscribe_result(removed: list[str], not_watched: list[str], left: list[str]) -> str:
    lines = []
    if removed:
        lines.append(f"Stopped watching {esc(', '.join(removed))}.")
    if not_watched:
        lines.append(f"You weren't watching {esc(', '.join(not_watched))}.")
    lines.append(f"Now watching: {esc(', '.join(left))}." if left else
                 "You watch no coins now — /subscribe BTC to start again.")
    return "\n".join(lines)


UNSUBSCRIBE_USAGE = "Which coins? /unsubscribe ETH, /unsubscribe eth sol, or /unsubscribe all."


# --- thresholds -----------------------------------------------------------------------------

def threshold_needs_plan(name: str, plan: Plan, needed: Plan) -> str:
    return (f"<code>{esc(name)}</code> tunes a signal that needs the {needed.title} plan; yours is "
            f"{plan.title}. /plan shows what each plan unlocks.")


def threshold_error(message: str) -> str:
    return f"❌ {esc(message)}. Nothing changed."


def coin_not_watched(coin: str) -> str:
    return f"You don't watch {esc(coin)}. /subscribe {esc(coin)} first, then set its overrides."


# --- settings menu --------------------------------------------------------------------------

# --- market snapshot and alerts -------------------------------------------------------------

def market_lines(s: Mapping[str, Any]) -> list[str]:
    """The snapshot lines shared by /snapshot and alerts (only what the snapshot holds)."""
    lines = []
    if p := s.get("price"):
        change = f" ({pct(p['change_pct'])} {p['window']})" if p.get("change_pct") is not None else ""
        lines.append(f"Price {price(p['price'])}{change}")
    if f := s.get("funding"):
        lines.append(f"Funding {pct(f['average_8h_pct'], 4)}/8h <i>({esc(f['method'])})</i>")
    if oi := s.get("open_interest"):
        lines.append(f"OI {usd(oi['usd'])} ({pct(oi.get('change_1h'))} 1h, "
                     f"{pct(oi.get('change_4h'))} 4h)")
    if lq := s.get("liquidations"):
        lines.append(f"Liquidations {lq['window']}: {usd(lq['long_usd'])} long / "
                     f"{usd(lq['short_usd'])} short")
    g, t = s.get(m.GLOBAL_LS), s.get(m.TOP_LS)
    if g or t:
        parts = []
        if g:
            parts.append(f"retail {g['long_pct']:.1f} % long")
        if t:
            parts.append(f"top traders {t['long_pct']:.1f} % long")
        source = g or t
        lines.append("L/S " + " vs ".join(parts)
                     + f" <i>({esc(source['exchange'])}, {source['interval']})</i>")
    if tk := s.get("taker"):
        share = tk.get("buy_share_pct")
        if share is not None:
            lines.append(f"Taker flow {tk['window']}: {share:.0f} % buy / {100 - share:.0f} % sell")
    if b := s.get("balances"):
        lines.append(f"Exchange balances {pct(b.get('change_pct_1d'))} 1d "
                     f"({b['exchanges']} exchanges)")
    if d := s.get("dominance"):
        change = f" ({d['change_24h']:+.2f} pts 24h)" if d.get("change_24h") is not None else ""
        lines.append(f"BTC dominance {d['pct']:.2f} %{change}")
    if nf := s.get("netflow"):
        lines.append("Netflow " + ", ".join(f"{w} {usd(v)}" for w, v in nf.items()))
    if cvd := s.get("cvd"):
        lines.append(f"CVD last {cvd['interval']}: {usd(cvd['last_delta'])}")
    if wh := s.get("whales"):
        if wh.get("biggest"):
            action, side, value = wh["biggest"]
            lines.append(f"Hyperliquid whales 1h: {wh['moves']} moves, largest {action} "
                         f"{side} {usd(value)}")
        else:
            lines.append("Hyperliquid whales 1h: none")
    if walls := s.get("walls"):
        lines.append("Walls: " + ", ".join(f"{side} {usd(size)} @ {price(at)}"
                                           for side, at, size in walls))
    if lo := s.get("liquidation_orders"):
        lines.append(f"Liquidation orders 1h: {lo['count']}, largest {usd(lo['largest_usd'])}")
    if cl := s.get("clusters"):
        lines.append("Liq. clusters: " + ", ".join(f"{usd(size)} {side}s @ {price(at)}"
                                                   for side, at, size in cl))
    return lines


def gap_lines(s: Mapping[str, Any], unevaluated: Mapping[str, str]) -> list[str]:
    """What could not be fetched, and which signals could not be evaluated for another reason
    (data that arrived without the value a signal reads)."""
    lines = []
    missing = s.get("missing") or {}
    if missing:
        lines.append("⚠️ Missing: " + esc("; ".join(f"{m.SECTION_TITLES.get(k, k)} ({v})"
                                                   for k, v in missing.items())))
    # The engine words a missing section as "no <title> (<reason>)": already said above.
    other = {sid: why for sid, why in unevaluated.items()
             if not any(f"({reason})" in why for reason in missing.values())}
    if other:
        lines.append("⚠️ Not evaluated: " + esc("; ".join(
            f"{SIGNAL_INFO[sid].name if sid in SIGNAL_INFO else sid} — {why}"
            for sid, why in other.items())))
    return lines


def signal_lines(signal: Signal, trigger: str | None = None) -> list[str]:
    tag = f" <i>[{esc(trigger)}]</i>" if trigger else ""
    mark = DIRECTION_MARK[signal.direction]
    lines = [f"{LEVEL_EMOJI[signal.level]} <b>{esc(signal.title)}</b> {mark} "
             f"{signal.direction.value}{tag}", esc(signal.text)]
    confidence = f"Confidence {signal.confidence:.2f}"
    if signal.modifiers:
        confidence += " (" + esc(", ".join(mod.describe() for mod in signal.modifiers)) + ")"
    lines.append(f"<i>{confidence}</i>")
    return lines


def regime_line(regime: RegimeReading | None) -> str | None:
    if regime is None:
        return None
    return (f"Regime: <b>{regime.regime.value}</b> over {regime.window} "
            f"(OI {pct(regime.oi_change_pct)}, price {pct(regime.price_change_pct)})")


def snapshot_text(summary: Mapping[str, Any], signals: Iterable[Signal],
                  regime: RegimeReading | None, unevaluated: Mapping[str, str],
                  now: float, tz=None) -> str:
    signals = list(signals)
    head = [f"📊 <b>{esc(summary['coin'])}</b> snapshot · "
            f"{when(summary.get('data_time'), now, tz)}"]
    body = market_lines(summary) or ["CoinGlass sent no data for this coin."]
    parts = head + body
    if line := regime_line(regime):
        parts.append(line)
    parts += gap_lines(summary, unevaluated)
    parts.append("")
    if signals:
        parts.append(f"<b>Firing now ({len(signals)})</b>:")
        for signal in sorted(signals, key=lambda x: -x.level):
            parts += [""] + signal_lines(signal)
    else:
        parts.append("No signal fires right now with your thresholds.")
    if summary.get("not_in_plan"):
        parts.append("<i>Not in your plan: " + esc(", ".join(
            m.SECTION_TITLES.get(x, x) for x in summary["not_in_plan"])) + " (/plan).</i>")
    parts += ["", NFA]
    return fit(parts)


def notice_text(payload: Mapping[str, Any]) -> str:
    notice = payload.get("notice")
    if notice == "key_rejected":
        return ("🔑 CoinGlass rejected your API key, so I paused your alerts. Send a new key with "
                "/setkey to resume.")
    if notice == "plan_lapsed":
        return ("🔑 Your CoinGlass subscription is no longer active, so I paused your alerts. "
                "Renew at coinglass.com/pricing, then /setkey to resume.")
    if notice == "key_unreadable":
        return ("🔑 I can no longer read your stored key (the server's encryption key changed). "
                "Please send it again with /setkey.")
    if notice == "plan_changed":
        kept = (" You set your plan with /plan, so I keep using that; /plan auto follows "
                "CoinGlass again.") if payload.get("overridden") else ""
        return (f"ℹ️ CoinGlass now gives your key {payload.get('per_minute')} requests/min: "
                f"that is the {esc(payload.get('plan', '?'))} plan, and I adjusted to it.{kept} "
                "/plan shows what it includes.")
    if notice == "endpoints_refused":
        sections = ", ".join(payload.get("sections") or ["some data"])
        plans = " or ".join(payload.get("plans") or [])
        needs = f" (needs {esc(plans)})" if plans else ""
        return (f"ℹ️ CoinGlass refused {esc(sections)} for your key{needs}, so I stopped asking "
                "for it; everything else keeps running. /plan shows what your plan includes.")
    return "ℹ️ " + esc(payload.get("text", "Notice"))


def render_outbox(item: OutboxItem, now: float) -> str:
    """What an outbox row says when it is sent, in the user's timezone."""
    tz = tz_of(item.timezone)
    if guard_texts.is_advice(item):
        return guard_texts.advice_text(item, now, tz)
    if item.kind == "alert":
        return rule_texts.brief(item, now, tz) or alert_texts.alert_brief(item, now, tz)
    if item.payload.get("notice") == "all_clear":
        return alert_texts.all_clear(item.payload, now, tz)
    if item.payload.get("notice") in hours_texts.NOTICES:     # quiet hours over, digest
        return hours_texts.render(item, now, tz)
    return notice_text(item.payload)


# --- status, history, pause -----------------------------------------------------------------

def pause_state(user: User, now: float) -> str:
    if not user.is_paused(now):
        return "on"
    if user.paused_until is None:
        return "paused until /resume"
    return f"paused until {when(user.paused_until, now, tz_of(user.timezone))}"


def stream_line(status: StreamStatus, now: float) -> str:
    """The live stream's state (SPEC §11): connected since when, or why not."""
    fallback = " — alerts come from polling"
    state = status.state
    if state == "connected":
        text = f"connected since {when(status.since, now)}"
    elif state in ("connecting", "starting"):
        text = "connecting…"
    elif state == "retrying":
        tries = f"{status.failures} failed attempt{'s' if status.failures != 1 else ''}"
        text = f"reconnecting ({tries}, next {when(status.retry_at, now)}){fallback} meanwhile"
    elif state == "refused":
        text = f"CoinGlass refused the liquidation stream for this key's plan{fallback}"
    elif state == "key_refused":
        text = f"CoinGlass refused this key on the stream{fallback}"
    elif state == "needs_plan":
        text = f"off: it needs a Standard plan or above{fallback}"
    elif state == "idle":
        text = f"off: {esc(status.reason or 'not needed now')}"
    elif state == "off":
        text = f"off on this bot{fallback}"
    else:
        text = esc(state)
    return f"<b>live stream</b>: {text}"


def status_text(user: User, *, now: float, used: int | None, coins: list[str],
                budget: Budget, alerts_24h: int, pending: int, resting_for: float = 0.0,
                stream: StreamStatus | None = None, held: int = 0,
                held_until: float | None = None) -> str:
    tz = tz_of(user.timezone)
    if user.key_state == "valid":
        key = "valid"
    elif user.key_state == "rejected":
        key = f"rejected at {when(user.key_state_at, now, tz)} — /setkey"
    else:
        key = "not set — /setkey"
    plan = user.known_plan
    limit = budget.per_minute if plan else None
    usage = f"{used if used is not None else 0}/{limit} in the last minute" if limit else "n/a"
    if resting_for > 0:
        usage += (f" · CoinGlass said too many requests: the key rests until "
                  f"{when(now + resting_for, now, tz)}")
    if user.key_state != "valid" or not coins or user.is_paused(now):
        next_poll = "not scheduled"
    else:
        next_poll = when(user.next_poll_at, now, tz) if user.next_poll_at else "now"
    lines = [f"<b>Key</b>: {key}",
             f"<b>Plan</b>: {plan.title if plan else 'unknown'}",
             f"<b>CoinGlass requests</b>: {usage}",
             f"<b>Coins</b>: {esc(', '.join(coins)) if coins else 'none'} · "
             f"{polling_phrase(budget)} · alerts {pause_state(user, now)}",
             f"<b>Last poll</b>: {when(user.last_poll_at, now, tz)} · <b>next</b>: {next_poll}",
             f"<b>Alerts sent in 24 h</b>: {alerts_24h}"
             + (f" ({pending} waiting to be delivered)" if pending else "")
             + (f" · {held} held for your quiet hours, until {when(held_until, now, tz)}"
                if held else "")]
    if stream is not None:
        lines.insert(-1, stream_line(stream, now))       # after the polls, before the alerts
    if user.last_error:
        lines.append(f"<b>Last error</b>: {esc(user.last_error)} "
                     f"({when(user.last_error_at, now, tz)})")
    else:
        lines.append("<b>Last error</b>: none")
    return "\n".join(lines)


def history_text(items: list[OutboxItem], now: float, tz=None,
                 outcomes: Mapping[int, str | None] | None = None) -> str:
    """The last alerts, newest first, one line each (and what followed it, from
    ``outcomes``: alert id → its outcome line); the buttons below open each in full."""
    if not items:
        return "No alerts yet. They appear here once a signal fires for your coins."
    lines = ["<b>Your last alerts</b> (tap a number to open one):"]
    for number, item in enumerate(items, 1):
        signals = [Signal.from_dict(d) for d in item.payload.get("signals", [])]
        title = rule_texts.history_title(item.payload)
        if guard_texts.is_advice(item):
            headline = guard_texts.first_line(item)
        elif title:
            headline = f"<b>{esc(item.coin or '')}</b> {esc(title)}"
        else:
            headline = alert_texts.first_line(item, signals)
        state = "" if item.status == "sent" else f" <i>({esc(item.status)})</i>"
        lines.append(f"{number}. {when(item.created_at, now, tz)} {headline}{state}")
        if outcomes and outcomes.get(item.id):
            lines.append(f"      {outcomes[item.id]}")
    return fit(lines)


INTERVAL_NOT_PER_COIN = ("The interval is one for all your coins: /set interval 60, or "
                         "/set interval auto.")


def interval_usage(maximum: int) -> str:
    return ("Usage: /set interval SECONDS (1 to "
            f"{maximum}), /set interval auto (as often as your plan allows), or "
            "/set interval default. Nothing changed.")


def interval_set(budget: Budget) -> str:
    text = f"✅ I'll poll your coins {polling_phrase(budget)}."
    if budget.interval < MIN_AUTO_INTERVAL:
        text += (f"\nCoinGlass refreshes open interest and liquidations every "
                 f"{MIN_AUTO_INTERVAL} s, so polls closer together mostly read the same figures "
                 "and spend your key's requests; /set interval auto never goes below "
                 f"{MIN_AUTO_INTERVAL} s.")
    return text


PAUSE_USAGE = ("How long? /pause (until /resume), /pause 30m, /pause 90m, /pause 1.5h, "
               "/pause 2d (at most 30 days). A bare number is not enough: say m, h or d.")


def pause_bad_duration(reason: str) -> str:
    return f"❌ {esc(reason)}\n" + PAUSE_USAGE + " Nothing changed."


ALERT_GONE = "That alert is no longer stored (alerts are kept 30 days)."
MUTE_USAGE = ("Usage: /mute ETH (1 h), /mute ETH 4h, /mute ETH tomorrow; /mute alone lists "
              "your mutes; /resume ETH unmutes.")


def plain_when(ts: float, now: float, tz) -> str:
    return when(ts, now, tz)


def mute_bad_duration(reason: str) -> str:
    return f"❌ {esc(reason)}\n{MUTE_USAGE} Nothing changed."


def muted(coin: str, until: float, now: float, tz) -> str:
    return (f"🔕 {esc(coin)} muted until {when(until, now, tz)}: its signals are still "
            f"watched, alerts wait. /resume {esc(coin)} undoes it.")


def mutes_text(active: Mapping[str, float], now: float, tz) -> str:
    if not active:
        return "No coin is muted. " + MUTE_USAGE
    lines = ["🔕 Muted coins:"]
    lines += [f"• {esc(c)} until {when(u, now, tz)}" for c, u in sorted(active.items())]
    lines.append("/resume SYM unmutes one.")
    return "\n".join(lines)


def unmuted(coins: list[str]) -> str:
    return f"🔔 {esc(', '.join(coins))} unmuted: alerts as usual."


def not_muted(coin: str) -> str:
    return f"{esc(coin)} was not muted. /mute lists your mutes."


def paused(until: float | None, now: float, tz=None) -> str:
    if until is None:
        return "🔕 Alerts paused until you send /resume. Polling stops meanwhile."
    return (f"🔕 Alerts paused for {duration(until - now)}, until {when(until, now, tz)}. "
            "/resume to undo.")


def resumed(was_paused: bool) -> str:
    return ("🔔 Alerts resumed. Signals that started while you were away will alert as new."
            if was_paused else "Alerts were not paused — you're all set.")


# --- forget ---------------------------------------------------------------------------------

FORGET_CONFIRM = ("Delete everything I store about you — key, coins, thresholds and alert "
                  "history? This cannot be undone.")
FORGET_DONE = "🗑 Done: I deleted your key, coins, thresholds and history. /start to begin again."
FORGET_KEPT = "Nothing was deleted."


# --- admin ----------------------------------------------------------------------------------

def admin_text(overview: Mapping[str, int], counters: Mapping[str, int], *, version: str,
               uptime: float, polls_running: int) -> str:
    return "\n".join([
        f"<b>perpwatch {esc(version)}</b> · up {duration(uptime)}",
        f"Users: {overview['users']} ({overview['active_users']} active) · "
        f"subscribers polling: {overview['subscribers']}",
        f"Last 24 h: {counters.get('polls', 0)} polls, {counters.get('alerts_decided', 0)} alerts "
        f"decided, {counters.get('alerts_sent', 0)} sent, "
        f"{counters.get('coinglass_requests', 0)} CoinGlass requests",
        f"Errors 24 h: {counters.get('poll_errors', 0)} polls with CoinGlass errors, "
        f"{counters.get('keys_rejected', 0)} keys rejected, "
        f"{counters.get('send_errors', 0)} send errors, {counters.get('blocked', 0)} users blocked us",
        f"Now: {polls_running} polls running, {overview['pending_alerts']} alerts waiting",
        f"Held for a render bug (retried after a restart): {overview.get('unrenderable', 0)}",
    ])
