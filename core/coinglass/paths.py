"""CoinGlass v4 endpoint paths (kebab-case; see coinglass-v4.md §8).

The camelCase spellings of these paths belong to API v3 and answer 404 on the v4 host.
"""

SUBSCRIPTION = "/api/user/account/subscription"
SUPPORTED_COINS = "/api/futures/supported-coins"
SUPPORTED_EXCHANGES = "/api/futures/supported-exchanges"
SUPPORTED_EXCHANGE_PAIRS = "/api/futures/supported-exchange-pairs"
PAIRS_MARKETS = "/api/futures/pairs-markets"
COINS_MARKETS = "/api/futures/coins-markets"

FUNDING_EXCHANGE_LIST = "/api/futures/funding-rate/exchange-list"
FUNDING_ACCUMULATED_EXCHANGE_LIST = "/api/futures/funding-rate/accumulated-exchange-list"
FUNDING_HISTORY = "/api/futures/funding-rate/history"
FUNDING_OI_WEIGHT_HISTORY = "/api/futures/funding-rate/oi-weight-history"
FUNDING_VOL_WEIGHT_HISTORY = "/api/futures/funding-rate/vol-weight-history"
FUNDING_ARBITRAGE = "/api/futures/funding-rate/arbitrage"

OI_EXCHANGE_LIST = "/api/futures/open-interest/exchange-list"
OI_HISTORY = "/api/futures/open-interest/history"
OI_AGGREGATED_HISTORY = "/api/futures/open-interest/aggregated-history"
OI_AGGREGATED_STABLECOIN_HISTORY = "/api/futures/open-interest/aggregated-stablecoin-history"
OI_AGGREGATED_COIN_MARGIN_HISTORY = "/api/futures/open-interest/aggregated-coin-margin-history"
OI_EXCHANGE_HISTORY_CHART = "/api/futures/open-interest/exchange-history-chart"

LIQUIDATION_EXCHANGE_LIST = "/api/futures/liquidation/exchange-list"
LIQUIDATION_HISTORY = "/api/futures/liquidation/history"
LIQUIDATION_AGGREGATED_HISTORY = "/api/futures/liquidation/aggregated-history"
LIQUIDATION_COIN_LIST = "/api/futures/liquidation/coin-list"
LIQUIDATION_ORDER = "/api/futures/liquidation/order"
LIQUIDATION_AGGREGATED_MAP = "/api/futures/liquidation/aggregated-map"
LIQUIDATION_MAP = "/api/futures/liquidation/map"
LIQUIDATION_AGGREGATED_HEATMAP = "/api/futures/liquidation/aggregated-heatmap/model1"
LIQUIDATION_MAX_PAIN = "/api/futures/liquidation/max-pain"

GLOBAL_LONG_SHORT_HISTORY = "/api/futures/global-long-short-account-ratio/history"
TOP_LONG_SHORT_ACCOUNT_HISTORY = "/api/futures/top-long-short-account-ratio/history"
TOP_LONG_SHORT_POSITION_HISTORY = "/api/futures/top-long-short-position-ratio/history"

TAKER_EXCHANGE_LIST = "/api/futures/taker-buy-sell-volume/exchange-list"
TAKER_HISTORY = "/api/futures/v2/taker-buy-sell-volume/history"
TAKER_HISTORY_LEGACY = "/api/futures/taker-buy-sell-volume/history"
TAKER_AGGREGATED_HISTORY = "/api/futures/aggregated-taker-buy-sell-volume/history"
CVD_HISTORY = "/api/futures/cvd/history"
AGGREGATED_CVD_HISTORY = "/api/futures/aggregated-cvd/history"
NETFLOW_LIST = "/api/futures/netflow-list"
COIN_NETFLOW = "/api/futures/coin/netflow"

PRICE_HISTORY = "/api/futures/price/history"

ORDERBOOK_ASK_BIDS_HISTORY = "/api/futures/orderbook/ask-bids-history"
ORDERBOOK_AGGREGATED_ASK_BIDS_HISTORY = "/api/futures/orderbook/aggregated-ask-bids-history"
LARGE_LIMIT_ORDER = "/api/futures/orderbook/large-limit-order"
LARGE_LIMIT_ORDER_HISTORY = "/api/futures/orderbook/large-limit-order-history"
ORDERBOOK_HEATMAP = "/api/futures/orderbook/history"
FOOTPRINT_HISTORY = "/api/futures/volume/footprint-history"

HYPERLIQUID_WHALE_ALERT = "/api/hyperliquid/whale-alert"
HYPERLIQUID_WHALE_POSITION = "/api/hyperliquid/whale-position"
CHAIN_WHALE_TRANSFER = "/api/chain/v2/whale-transfer"

EXCHANGE_BALANCE_LIST = "/api/exchange/balance/list"
EXCHANGE_BALANCE_CHART = "/api/exchange/balance/chart"

BITCOIN_DOMINANCE = "/api/index/bitcoin-dominance"
FEAR_GREED_HISTORY = "/api/index/fear-greed-history"
WHALE_INDEX_HISTORY = "/api/futures/whale-index/history"
