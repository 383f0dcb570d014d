"""`BingXExecutionClient`: BingX USDT-M perpetuals for Nautilus, one-way (NETTING) margin account.

Orders go over signed REST (`BingXTradeHttpAPI`); acceptance comes from the REST ack or the user stream,
whichever is first; fills come only from the user stream's ORDER_TRADE_UPDATE (deduped by venue trade id)
or from REST fill history when the stream may have missed them (reconnect, query after an unknown outcome).

Whatever an order event cannot say is published as a typed `contracts.placement` outcome on
`PLACEMENT_OUTCOME_TOPIC`, before the Nautilus event it explains: a definitive reject (with the venue code),
rate limited on every attempt (nothing placed; retry after), unknown (maybe placed; being resolved by client
order id) and its resolution (placed, or not). The OrderRejected reason stays human-readable text that nobody
parses. The placement state machine itself is plain code in `order_flow.py`.

The client is one class assembled from its concerns, each in its own module: `execution_events` (shared
state, order events emitted at most once, sync of one order to the venue's view), `execution_orders` (order
commands and placement outcomes), `execution_stream` (the private user stream and balance reads),
`execution_reports` (reconciliation reports) and `execution_history` (the venue history for the back-fill).
This module keeps construction, connect and disconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.execution.messages import QueryAccount
from nautilus_trader.live.execution_client import LiveExecutionClient
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import AccountId, ClientId, ClientOrderId, Venue

from dolphin_nautilus.adapters.bingx.common.enums import BingXPositionMode
from dolphin_nautilus.adapters.bingx.config import BingXExecClientConfig
from dolphin_nautilus.adapters.bingx.constants import BINGX
from dolphin_nautilus.adapters.bingx.errors import Operation
from dolphin_nautilus.adapters.bingx.execution_history import BingXVenueHistory
from dolphin_nautilus.adapters.bingx.execution_orders import BingXOrderCommands
from dolphin_nautilus.adapters.bingx.execution_reports import BingXExecutionReports
from dolphin_nautilus.adapters.bingx.execution_stream import BingXUserStreamEvents
from dolphin_nautilus.adapters.bingx.http.account import BingXAccountHttpAPI
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.trade import BingXTradeHttpAPI
from dolphin_nautilus.adapters.bingx.http.user_stream import BingXUserStreamHttpAPI
from dolphin_nautilus.adapters.bingx.order_flow import FillDeduper, RecoveryPolicy
from dolphin_nautilus.adapters.bingx.providers import BingXInstrumentProvider
from dolphin_nautilus.adapters.bingx.refusals import record_refusal
from dolphin_nautilus.adapters.bingx.websocket.user import BingXUserStreamClient
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.journal.backfill import VENUE_HISTORY_REQUEST_TOPIC
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.exec")  # fault lines go to the node's JSON log with their code

_DUAL_PATH = "/openApi/swap/v1/positionSide/dual"


class BingXExecutionClient(
    BingXOrderCommands, BingXUserStreamEvents, BingXExecutionReports, BingXVenueHistory, LiveExecutionClient
):
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: BingXHttpClient,
        msgbus: MessageBus,
        cache: Cache,
        clock: LiveClock,
        instrument_provider: BingXInstrumentProvider,
        config: BingXExecClientConfig,
        name: str | None = None,
        on_disconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        client_id = ClientId(name or BINGX)
        super().__init__(
            loop=loop,
            client_id=client_id,
            venue=Venue(BINGX),
            oms_type=OmsType.NETTING,
            account_type=AccountType.MARGIN,
            base_currency=None,
            instrument_provider=instrument_provider,
            msgbus=msgbus,
            cache=cache,
            clock=clock,
            config=config,
        )
        self._set_account_id(AccountId(f"{client_id.value}-001"))
        self._config = config
        self._http = client
        self._on_disconnect = on_disconnect  # releases the shared HTTP client (factories)
        self._trade = BingXTradeHttpAPI(client)
        self._account_api = BingXAccountHttpAPI(client)
        self._user_stream = BingXUserStreamClient(
            BingXUserStreamHttpAPI(client),
            config.urls().ws_user,
            self._on_user_event,
        )
        self._policy = RecoveryPolicy(
            rate_limit_attempts=config.rate_limit_attempts,
            max_cooldown_wait_s=config.max_cooldown_wait_s,
            unknown_outcome_timeout_s=config.unknown_outcome_timeout_s,
            query_backoff_initial_s=config.query_backoff_initial_s,
            query_backoff_max_s=config.query_backoff_max_s,
        )
        self._fills = FillDeduper()
        self._coids: dict[str, ClientOrderId] = {}  # venue (lower-case) client id -> ours
        self._coid_by_venue_id: dict[int, ClientOrderId] = {}
        self._accepted: set[ClientOrderId] = set()
        self._closed: set[ClientOrderId] = set()  # canceled / expired / rejected by us
        self._balance_task: asyncio.Task | None = None
        self._balance_pending = False
        self.placements = 0  # REST placement attempts (observable by tests and the benchmark)

    @property
    def user_stream(self) -> BingXUserStreamClient:
        return self._user_stream

    # ---- lifecycle -------------------------------------------------------------------------------------
    async def _connect(self) -> None:
        try:
            await self._connect_steps()
        except Exception as exc:
            # Nautilus logs and swallows a connect failure; one a restart cannot fix goes to the launcher typed.
            record_refusal(self._cache, exc, self._clock.timestamp_ns(), str(self.id))
            raise

    async def _connect_steps(self) -> None:
        await self._instrument_provider.initialize()
        for currency in self._instrument_provider.currencies().values():
            self._cache.add_currency(currency)
        for instrument in self._instrument_provider.list_all():
            if self._cache.instrument(instrument.id) is None:
                self._cache.add_instrument(instrument)  # reconciliation skips reports of uncached instruments
        await self._ensure_one_way()
        await self._refresh_account()
        await self._await_account_registered()
        await self._user_stream.start()
        self._msgbus.subscribe(VENUE_HISTORY_REQUEST_TOPIC, self._on_history_request)

    async def _disconnect(self) -> None:
        self._msgbus.unsubscribe(VENUE_HISTORY_REQUEST_TOPIC, self._on_history_request)
        if self._balance_task is not None:
            self._balance_task.cancel()
        await self._user_stream.close()
        if self._on_disconnect is not None:
            await self._on_disconnect()

    async def _ensure_one_way(self) -> None:
        mode = await self._account_api.position_mode(refresh=True)
        if mode is BingXPositionMode.HEDGE and self._config.switch_to_one_way:
            log_event(
                log,
                logging.WARNING,
                "hedge_mode_switch",
                "BingX account is in hedge mode; switching it to one-way (bingx.switch_to_one_way = true)",
                code=Code.VENUE_HEDGE_MODE,
            )
            await self._http.call("POST", _DUAL_PATH, {"dualSidePosition": "false"}, operation=Operation.WRITE)
        await self._account_api.ensure_one_way(refresh=True)  # raises BingXHedgeModeError: connect fails

    async def _query_account(self, command: QueryAccount) -> None:
        await self._refresh_account()
