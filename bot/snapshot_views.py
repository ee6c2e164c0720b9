"""``/snapshot SYM VIEW``: one section of the market in full (funding per venue, OI per
exchange, the walls, the clusters...), instead of the whole snapshot. Pure presentation."""

from __future__ import annotations

from datetime import tzinfo
from typing import Callable

from bot.format import esc, pct, price, usd, when
from core import market as m

MAX_ROWS = 15


def _funding(s: m.MarketSnapshot) -> list[str]:
    f = s.funding
    lines = [f"Average {pct(f.average_8h_pct, 4)}/8h ({esc(f.average_method)})",
             "Per venue, normalised to 8 h:"]
    venues = sorted(f.venues, key=lambda v: v.rate_8h_pct, reverse=True)
    lines += [f"• {esc(v.exchange)} ({'USDT/USDC' if v.margin == 'stablecoin' else 'coin'}): "
              f"{pct(v.rate_8h_pct, 4)}" + (f" <i>(every {v.interval_hours:g} h)</i>"
                                           if v.interval_hours and v.interval_hours != 8 else "")
              for v in venues[:MAX_ROWS]]
    if len(venues) > MAX_ROWS:
        lines.append(f"… {len(venues) - MAX_ROWS} more venues")
    return lines


def _open_interest(s: m.MarketSnapshot) -> list[str]:
    oi = s.open_interest
    lines = [f"Total {usd(oi.total_usd)}: " + ", ".join(
        f"{pct(oi.change(w))} {w}" for w in ("1h", "4h", "24h") if oi.change(w) is not None)]
    rows = sorted(oi.by_exchange, key=lambda e: e.usd, reverse=True)[:MAX_ROWS]
    lines += [f"• {esc(e.exchange)}: {usd(e.usd)}" for e in rows]
    return lines


def _liquidations(s: m.MarketSnapshot) -> list[str]:
    lq = s.liquidations
    return [f"Last {lq.window}: {usd(lq.long_usd)} longs, {usd(lq.short_usd)} shorts "
            f"(total {usd(lq.total_usd)})"]


def _taker(s: m.MarketSnapshot) -> list[str]:
    tk = s.taker
    share = tk.buy_share_pct
    return [f"Last {tk.window}: buy {usd(tk.buy_usd)}, sell {usd(tk.sell_usd)}"
            + (f" — {share:.1f} % buys" if share is not None else "")]


def _ratio(s: m.MarketSnapshot) -> list[str]:
    lines = []
    for name, r in (("Retail accounts", s.global_ls), ("Top traders", s.top_ls)):
        if r is not None:
            lines.append(f"{name}: {r.long_pct:.1f} % long / {r.short_pct:.1f} % short "
                         f"<i>({esc(r.exchange)} {esc(r.pair)}, {r.interval})</i>")
    return lines


def _price(s: m.MarketSnapshot) -> list[str]:
    p = s.price
    change = f" ({pct(p.change_pct)} over {p.window})" if p.change_pct is not None else ""
    return [f"{price(p.price)}{change}"]


def _balances(s: m.MarketSnapshot) -> list[str]:
    b = s.balances
    lines = [f"On exchanges: {b.total:,.0f} coins, {pct(b.change_pct_1d)} in a day"]
    rows = sorted(b.exchanges, key=lambda e: e.balance, reverse=True)[:MAX_ROWS]
    lines += [f"• {esc(e.exchange)}: {e.balance:,.0f} ({pct(e.change_pct_1d)} 1d)" for e in rows]
    return lines


def _dominance(s: m.MarketSnapshot) -> list[str]:
    d = s.dominance
    parts = [f"{d.dominance_pct:.2f} %"]
    if d.change_24h_pts is not None:
        parts.append(f"{d.change_24h_pts:+.2f} pts in 24 h")
    if d.change_7d_pts is not None:
        parts.append(f"{d.change_7d_pts:+.2f} pts in 7 days")
    return ["Bitcoin dominance " + ", ".join(parts)]


def _netflow(s: m.MarketSnapshot) -> list[str]:
    return [f"• {w}: {usd(v)}" for w, v in s.netflow.net_flow_usd.items()]


def _cvd(s: m.MarketSnapshot) -> list[str]:
    c = s.cvd
    return [f"Last {c.interval}: {usd(c.last_delta)}; cumulative {usd(c.cumulative_delta)}"]


def _whales(s: m.MarketSnapshot) -> list[str]:
    moves = s.whales.moves[:MAX_ROWS]
    if not moves:
        return ["No Hyperliquid whale moves on this coin in the last hour."]
    return [f"• {esc(w.action)} {esc(w.side)} {usd(w.value_usd)}"
            + (f" @ {price(w.entry_price)}" if w.entry_price else "") for w in moves]


def _walls(s: m.MarketSnapshot) -> list[str]:
    walls = s.walls.walls[:MAX_ROWS]
    if not walls:
        return ["No large limit orders open near price."]
    return [f"• {esc(w.side)} {usd(w.usd)} @ {price(w.price)} ({esc(w.exchange)})"
            for w in walls]


def _orders(s: m.MarketSnapshot) -> list[str]:
    lo = s.liquidation_orders
    return [f"Last hour on Binance: {lo.count} orders, longs {usd(lo.long_usd)}, shorts "
            f"{usd(lo.short_usd)}, largest {usd(lo.largest_usd)}"]


def _clusters(s: m.MarketSnapshot) -> list[str]:
    rows = sorted(s.clusters.clusters, key=lambda c: c.usd, reverse=True)[:MAX_ROWS]
    if not rows:
        return ["No liquidation clusters on the map."]
    here = f"Price {price(s.price.price)}. " if s.price else ""
    return [f"{here}Largest clusters ({esc(s.clusters.range)} map):"] + [
        f"• {usd(c.usd)} of {esc(c.side)}s @ {price(c.price)}" for c in sorted(rows, key=lambda c: -c.price)]


VIEWS: dict[str, tuple[str, Callable[[m.MarketSnapshot], list[str]]]] = {
    "funding": (m.FUNDING, _funding), "oi": (m.OPEN_INTEREST, _open_interest),
    "liquidations": (m.LIQUIDATIONS, _liquidations), "taker": (m.TAKER, _taker),
    "ratio": (m.GLOBAL_LS, _ratio), "price": (m.PRICE, _price),
    "balances": (m.BALANCES, _balances), "dominance": (m.DOMINANCE, _dominance),
    "netflow": (m.NETFLOW, _netflow), "cvd": (m.CVD, _cvd), "whales": (m.WHALES, _whales),
    "walls": (m.WALLS, _walls), "orders": (m.LIQUIDATION_ORDERS, _orders),
    "clusters": (m.CLUSTERS, _clusters), "map": (m.CLUSTERS, _clusters),
}


def view_text(view: str, snapshot: m.MarketSnapshot, now: float, tz: tzinfo | None) -> str:
    section, render = VIEWS[view]
    title = m.SECTION_TITLES[section]
    head = f"📊 <b>{esc(snapshot.coin)}</b> · {esc(title)}"
    value = getattr(snapshot, section)
    if value is None:
        missing = snapshot.missing.get(section)
        why = f" ({esc(missing.describe())})" if missing else ""
        return f"{head}\nCoinGlass sent no {esc(title)} for {esc(snapshot.coin)}{why}."
    if section == m.GLOBAL_LS and snapshot.global_ls is None and snapshot.top_ls is None:
        return f"{head}\nNo long/short ratios."
    lines = [head] + render(snapshot)
    lines.append(f"<i>Data {when(value.time.timestamp(), now, tz)}</i>")
    return "\n".join(lines)
