"""The signals perpwatch knows, with the plan each needs (SPEC §8)."""

from __future__ import annotations

from dataclasses import dataclass

from core.plans import Plan


@dataclass(frozen=True)
class SignalInfo:
    id: str
    name: str                 # short label for menus
    min_plan: Plan
    about: str                # one line for /help, /list and the README


SIGNALS: tuple[SignalInfo, ...] = (
    SignalInfo("funding_extreme", "Funding extreme", Plan.HOBBYIST,
               "average funding (per 8 h) far above or below normal"),
    SignalInfo("oi_surge", "OI surge", Plan.HOBBYIST,
               "open interest up or down sharply within 1 h"),
    SignalInfo("liquidation_cascade", "Liquidation cascade", Plan.HOBBYIST,
               "long or short liquidations of the last hour above your threshold"),
    SignalInfo("ls_extreme", "Long/short extreme", Plan.HOBBYIST,
               "retail accounts crowded on one side"),
    SignalInfo("smart_money_divergence", "Smart-money divergence", Plan.HOBBYIST,
               "top traders positioned away from retail"),
    SignalInfo("taker_bias", "Taker bias", Plan.HOBBYIST,
               "market orders one-sided over the last hour"),
    SignalInfo("oi_price_regime", "OI × price regime", Plan.HOBBYIST,
               "open interest falling hard into a long liquidation or a short squeeze"),
    SignalInfo("exchange_balance", "Exchange balance swing", Plan.HOBBYIST,
               "coins moving onto or off exchanges within a day"),
    SignalInfo("netflow", "Netflow", Plan.STARTUP,
               "taker buy minus sell volume of the last hour far from zero"),
    SignalInfo("btc_dominance", "BTC dominance shift", Plan.STARTUP,
               "Bitcoin's market share moved within 24 h"),
    SignalInfo("whale_position", "Hyperliquid whale", Plan.STARTUP,
               "a large Hyperliquid position opened or closed on the coin"),
    SignalInfo("orderbook_wall", "Order-book wall", Plan.STANDARD,
               "a large limit order close to price"),
    SignalInfo("liquidation_cluster", "Liquidation cluster", Plan.PROFESSIONAL,
               "a cluster of liquidation levels close to price"),
)

SIGNAL_INFO: dict[str, SignalInfo] = {s.id: s for s in SIGNALS}
