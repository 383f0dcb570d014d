"""Emulator configuration (msgspec structs): contracts, accounts, timings, rate limits, fill model."""

from __future__ import annotations

import msgspec

from .errors import Generation

TEST_API_KEY = "emulator-test-api-key"
TEST_API_SECRET = "emulator-test-api-secret-0123456789abcdef"


class ContractSpec(msgspec.Struct, frozen=True):
    symbol: str
    price: str  # initial last price
    price_precision: int
    quantity_precision: int
    min_qty: str
    min_notional: str = "2"
    max_leverage: int = 125
    maker_fee: str = "0.0002"
    taker_fee: str = "0.0005"
    # Tier-1 maintenance margin ratio (GET /openApi/swap/v1/maintMarginRatio; BTC 0.0038 per the
    # docs/reference/bingx_api.md §6.8, ETH 0.0033 per CCXT's recorded response). Liquidation when maintenance margin
    # reaches the margin balance (risk rate 100%).
    maint_margin_ratio: str = "0.004"
    # Synthetic depth: `book_levels` levels a side, `book_level_ticks` ticks apart, level i (1-based)
    # holding i * book_level_qty (default 1000 * min_qty). Takers walk it; a big order moves the price.
    book_levels: int = 1000
    book_level_ticks: int = 1
    book_level_qty: str = ""


DEFAULT_CONTRACTS: dict[str, ContractSpec] = {
    "BTC-USDT": ContractSpec("BTC-USDT", "60000.0", 1, 4, "0.0001", maint_margin_ratio="0.0038"),
    "ETH-USDT": ContractSpec("ETH-USDT", "3000.00", 2, 2, "0.01", max_leverage=100, maint_margin_ratio="0.0033"),
    "SOL-USDT": ContractSpec("SOL-USDT", "150.000", 3, 1, "0.1", max_leverage=75),
    "XRP-USDT": ContractSpec("XRP-USDT", "0.6000", 4, 0, "1", max_leverage=75),
}


def contract_for(symbol: str) -> ContractSpec:
    """The default spec for a known symbol, else a generic 2-decimal contract priced at 100."""
    return DEFAULT_CONTRACTS.get(symbol) or ContractSpec(symbol, "100.00", 2, 3, "0.001", max_leverage=50)


class RateLimitConfig(msgspec.Struct):
    """Documented limits (docs/reference/bingx_api.md §8); `penalty_s` is the documented 5-minute restriction."""

    enabled: bool = True
    uid_default_per_s: int = 5
    uid_per_s: dict[str, int] = msgspec.field(
        default_factory=lambda: {
            "POST /openApi/swap/v2/trade/order": 10,
            "POST /openApi/swap/v2/trade/marginType": 2,
            "GET /openApi/swap/v2/trade/marginType": 2,
            "POST /openApi/swap/v1/positionSide/dual": 2,
            "GET /openApi/swap/v1/positionSide/dual": 2,
            "POST /openApi/swap/v2/trade/positionMargin": 2,
            "POST /openApi/swap/v2/trade/cancelAllAfter": 2,
            "GET /openApi/swap/v2/trade/forceOrders": 10,
        }
    )
    ip_group1_per_10s: int = 500
    ip_group1_per_min: int = 1000
    ip_group_per_10s: int = 2000  # groups 2 and 3, whole group
    ip_endpoint_per_10s: int = 300  # groups 2 and 3, per endpoint
    penalty_s: float = 300.0
    http_status: int = 429  # 429, or 200 to answer with the business code only


class FillModel(msgspec.Struct):
    """How orders fill. Takers (MARKET, marketable LIMIT) walk the synthetic depth book: one fill per
    price level touched (`fill_per_level`), or one fill at the VWAP. market_slices > 1 splits a MARKET
    order into that many sweeps; limit_fill_fraction < 1 fills a crossed resting LIMIT order by that
    fraction of its original quantity per price update (partial fills). `feed_qty_caps_resting`: a
    feed print fills resting orders (in price-time priority) only up to the printed quantity."""

    market_slices: int = 1
    limit_fill_fraction: float = 1.0
    fill_per_level: bool = True
    feed_qty_caps_resting: bool = False


class EmulatorConfig(msgspec.Struct):
    symbols: list[str] = msgspec.field(default_factory=lambda: ["BTC-USDT", "ETH-USDT"])
    contracts: dict[str, ContractSpec] = msgspec.field(default_factory=dict)  # overrides
    api_key: str = TEST_API_KEY
    api_secret: str = TEST_API_SECRET
    initial_balance: str = "10000"
    dual_side_position: bool = False  # one-way (positionSide BOTH) by default
    default_leverage: int = 5
    error_generation: Generation = "new"
    clock_offset_ms: int = 0  # server clock = wall clock + offset
    funding_rate: str = "0.0001"  # settled on every position at each funding time
    funding_interval_h: int = 8  # documented: 00:00, 08:00, 16:00 UTC
    liquidation: bool = True  # liquidate at risk rate >= 100% (maintenance margin >= margin balance)
    max_recv_window_ms: int = 60000
    listen_key_ttl_s: float = 3600.0
    ping_interval_s: float = 5.0
    pong_timeout_s: float = 15.0
    ping_gzip: bool = True  # Ping as a gzip binary frame (docs) or a text frame (VST probe)
    config_push_interval_s: float | None = 5.0  # ACCOUNT_CONFIG_UPDATE full push period
    depth_default_interval_ms: int = 500
    public_trade_qty: str = "0.01"  # size of the public trade a price update prints
    seed_history_minutes: int = 120  # synthetic 1m trade history before start
    kline_newest_first: bool = True  # ordering is UNCONFIRMED in the docs; clients must sort
    gzip_http_responses: bool = True
    rate_limits: RateLimitConfig = msgspec.field(default_factory=RateLimitConfig)
    fill_model: FillModel = msgspec.field(default_factory=FillModel)

    def spec(self, symbol: str) -> ContractSpec:
        return self.contracts.get(symbol) or contract_for(symbol)
