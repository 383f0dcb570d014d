"""Nautilus client configs for BingX. Credentials are never config fields: they come from the environment
(BINGX_API_KEY / BINGX_API_SECRET) or, in tests, a `BingXCredentials` object passed in code."""

from __future__ import annotations

from nautilus_trader.config import LiveDataClientConfig, LiveExecClientConfig

from dolphin_nautilus.adapters.bingx.common.enums import BingXEnvironment
from dolphin_nautilus.adapters.bingx.common.urls import BingXUrls, urls_for
from dolphin_nautilus.adapters.bingx.constants import DEFAULT_RECV_WINDOW_MS, DEFAULT_TIME_SYNC_INTERVAL_S


class _BingXCommon:
    def urls(self) -> BingXUrls:
        """The environment's URLs, with any override (an emulator) applied."""
        base = urls_for(self.environment)  # type: ignore[attr-defined]
        return BingXUrls(
            rest=self.base_url_http or base.rest,  # type: ignore[attr-defined]
            ws_market=self.base_url_ws or base.ws_market,  # type: ignore[attr-defined]
            ws_user=self.base_url_ws or base.ws_user,  # type: ignore[attr-defined]
        )


class BingXDataClientConfig(LiveDataClientConfig, _BingXCommon, frozen=True):
    environment: str = BingXEnvironment.LIVE.value  # LIVE | VST
    base_url_http: str | None = None  # override, e.g. an emulator
    base_url_ws: str | None = None
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS
    http_timeout_s: float = 10.0
    client_rate_limit: bool = True  # False only against an emulator (benchmarks)
    time_sync_interval_s: float = DEFAULT_TIME_SYNC_INTERVAL_S  # server-time offset re-measured this often
    # Closed klines handed to Nautilus as bars when a bar subscription starts (before the live stream), so a
    # signal model fed by bars is warm at the first live bar. 0: none.
    warmup_bars: int = 0


class BingXExecClientConfig(LiveExecClientConfig, _BingXCommon, frozen=True):
    environment: str = BingXEnvironment.LIVE.value
    base_url_http: str | None = None
    base_url_ws: str | None = None
    recv_window_ms: int = DEFAULT_RECV_WINDOW_MS
    http_timeout_s: float = 10.0
    client_rate_limit: bool = True
    time_sync_interval_s: float = DEFAULT_TIME_SYNC_INTERVAL_S
    switch_to_one_way: bool = False  # hedge-mode account: switch it (needs no positions/orders) instead of failing
    unknown_outcome_timeout_s: float = 30.0  # "not found" this long after an unknown outcome -> rejected
    rate_limit_attempts: int = 3  # placements per client order id while rate limited
    max_cooldown_wait_s: float = 10.0  # longer venue cooldowns reject at once (RATE_LIMITED) instead of waiting
    query_backoff_initial_s: float = 0.1
    query_backoff_max_s: float = 2.0
    balance_refresh_min_interval_s: float = 0.5  # ACCOUNT_UPDATE bursts coalesce into one REST balance read
