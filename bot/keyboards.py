"""Inline keyboards, as pure functions. Callback data is short and prefixed (``set:th:oi_change:+``)
so handlers match it with anchored patterns and it stays far below Telegram's 64 bytes."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Markup

from core.coins import POPULAR
from core.plans import Plan
from core.signals.catalog import SIGNALS
from core.signals.model import Level
from core.thresholds import PRESETS, display_value, visible_specs


def _rows(buttons: list[Button], per_row: int) -> list[list[Button]]:
    return [buttons[i:i + per_row] for i in range(0, len(buttons), per_row)]


def popular_coins(watched: list[str]) -> Markup:
    buttons = [Button(("✅ " if c in watched else "") + c, callback_data=f"sub:{c}")
               for c in POPULAR]
    return Markup(_rows(buttons, 4) + [[Button("Done", callback_data="sub:done")]])


def suggestions(coins: list[str]) -> Markup | None:
    if not coins:
        return None
    return Markup([[Button(f"Watch {c}", callback_data=f"sub:{c}") for c in coins[:3]]])


def settings_main(min_level: Level, all_clear: bool = True) -> Markup:
    return Markup([
        [Button("Signals on/off", callback_data="set:sig")],
        [Button(f"Minimum level: {min_level.name} ↻", callback_data="set:lvl")],
        [Button("Thresholds", callback_data="set:th"),
         Button("Presets", callback_data="set:pre")],
        [Button(f"“All clear” messages: {'on' if all_clear else 'off'} ↻",
                callback_data="set:calm")],
        [Button("🕐 Timezone", callback_data="hr:tz"),
         Button("🌙 Quiet hours", callback_data="hr:q"),
         Button("📰 Digest", callback_data="hr:dg")],
        [Button("🧪 Send a test alert", callback_data="set:test")],
        [Button("🛡 Position guard", callback_data="pos:menu")],
        [Button("Close", callback_data="set:close")],
    ])


def settings_signals(plan: Plan, disabled: set[str]) -> Markup:
    buttons = [Button(("⛔ " if s.id in disabled else "✅ ") + s.name,
                      callback_data=f"set:sig:{s.id}")
               for s in SIGNALS if s.min_plan <= plan]
    return Markup(_rows(buttons, 1) + [[Button("« Back", callback_data="set:main")]])


def settings_thresholds(plan: Plan, values: dict[str, float]) -> Markup:
    buttons = [Button(f"{spec.title}: {display_value(spec.name, values[spec.name])}",
                      callback_data=f"set:th:{spec.name}")
               for spec in visible_specs(plan) if spec.name != "min_level"]
    return Markup(_rows(buttons, 1) + [[Button("« Back", callback_data="set:main")]])


def settings_threshold(name: str) -> Markup:
    return Markup([
        [Button("−", callback_data=f"set:th:{name}:-"),
         Button("+", callback_data=f"set:th:{name}:+")],
        [Button("Reset to default", callback_data=f"set:th:{name}:0")],
        [Button("« Thresholds", callback_data="set:th")],
    ])


def settings_presets() -> Markup:
    return Markup([[Button(name, callback_data=f"set:pre:{name}") for name in PRESETS],
                   [Button("« Back", callback_data="set:main")]])


def history_buttons(item_ids: list[int]) -> Markup | None:
    if not item_ids:
        return None
    buttons = [Button(str(n), callback_data=f"al:open:{i}") for n, i in enumerate(item_ids, 1)]
    return Markup(_rows(buttons, 5))


def preset_confirm(name: str) -> Markup:
    return Markup([[Button(f"Apply {name}", callback_data=f"set:apply:{name}"),
                    Button("« Presets", callback_data="set:pre")]])


def settings_back() -> Markup:
    return Markup([[Button("« Settings", callback_data="set:main")]])


def forget_confirm() -> Markup:
    return Markup([[Button("Yes, delete everything", callback_data="forget:yes"),
                    Button("No, keep it", callback_data="forget:no")]])


MUTE_CHOICES = (("1h", "1 h"), ("4h", "4 h"), ("day", "till tomorrow"))


def alert_buttons(item_id: int, coin: str, *, expanded: bool = False,
                  muted: bool = False) -> Markup:
    """Details (in place), Chart, Settings; Guard a position on the coin; Mute the coin for
    1 h / 4 h / till tomorrow."""
    toggle = (Button("🔼 Less", callback_data=f"al:less:{item_id}") if expanded
              else Button("🔎 Details", callback_data=f"al:more:{item_id}"))
    rows = [[toggle, Button("📈 Chart", callback_data=f"chart:{coin}"),
             Button("⚙️ Settings", callback_data="set:open")],
            [Button("🛡 Guard a position", callback_data=f"pos:new:{coin}")]]
    if muted:
        rows.append([Button(f"🔔 Unmute {coin}", callback_data=f"mute:{coin}:off")])
    else:
        rows.append([Button(f"🔕 {label}", callback_data=f"mute:{coin}:{code}")
                     for code, label in MUTE_CHOICES])
    return Markup(rows)


# --- the user's own rules (bot/handlers/rules.py) ------------------------------------------

def mute_row(coin: str, muted: bool) -> list[Button]:
    if muted:
        return [Button(f"🔔 Unmute {coin}", callback_data=f"mute:{coin}:off")]
    return [Button(f"🔕 {label}", callback_data=f"mute:{coin}:{code}")
            for code, label in MUTE_CHOICES]


def rule_alert_buttons(coin: str, rule_id: int | None, number: int | None = None, *,
                       muted: bool = False) -> Markup:
    """Under a rule's alert: Chart, Settings, Delete rule (repeat rules: ``rule_id`` given);
    Mute the coin for 1 h / 4 h / till tomorrow."""
    top = [Button("📈 Chart", callback_data=f"chart:{coin}"),
           Button("⚙️ Settings", callback_data="set:open")]
    if rule_id is not None:
        top.append(Button(f"🗑 Delete rule #{number}", callback_data=f"rule:del:{rule_id}"))
    return Markup([top, mute_row(coin, muted)])


def with_mute_row(markup: Markup, coin: str, muted: bool) -> Markup:
    """The same buttons with the last row (the mute row) redrawn."""
    rows = [list(row) for row in markup.inline_keyboard]
    return Markup(rows[:-1] + [mute_row(coin, muted)])


def without_rule_delete(markup: Markup) -> Markup:
    """The same buttons without "Delete rule" (after it was pressed)."""
    rows = [[b for b in row if not (b.callback_data or "").startswith("rule:del:")]
            for row in markup.inline_keyboard]
    return Markup([row for row in rows if row])


def rule_choices(token: str, labels: list[str]) -> Markup:
    """One button per reading of an ambiguous rule (``rule:pick:TOKEN:I``)."""
    return Markup([[Button(label[:60], callback_data=f"rule:pick:{token}:{i}")]
                   for i, label in enumerate(labels)])


# --- the position guard (bot/handlers/positions.py) -----------------------------------------

def guard_sides() -> Markup:
    return Markup([[Button("🟢 Long", callback_data="pos:side:long"),
                    Button("🔴 Short", callback_data="pos:side:short")]])


def advice_buttons(coin: str) -> Markup:
    """Under a piece of advice: Chart, the positions, and "I closed it"."""
    return Markup([[Button("📈 Chart", callback_data=f"chart:{coin}"),
                    Button("🛡 Positions", callback_data="pos:list"),
                    Button(f"✖ Closed {coin}", callback_data=f"pos:close:{coin}")]])


def replace_confirm(token: str) -> Markup:
    return Markup([[Button("Replace it", callback_data=f"pos:rep:{token}"),
                    Button("Keep the current one", callback_data=f"pos:keep:{token}")]])


def close_confirm(coin: str) -> Markup:
    return Markup([[Button(f"Yes, forget {coin}", callback_data=f"pos:drop:{coin}"),
                    Button("No, keep it", callback_data="pos:keep:-")]])


def positions_menu(held: list[str], guardable: list[str], *, back: bool = True) -> Markup:
    """The guard's positions: close a held one, guard a watched coin; back to /settings."""
    rows = _rows([Button(f"✖ Close {c}", callback_data=f"pos:close:{c}") for c in held], 3)
    rows += _rows([Button(f"🛡 Guard {c}", callback_data=f"pos:new:{c}")
                   for c in guardable[:9]], 3)
    if back:
        rows.append([Button("« Settings", callback_data="set:main")])
    return Markup(rows)
