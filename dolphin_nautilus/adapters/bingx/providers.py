"""`BingXInstrumentProvider`: BingX USDT-M perpetual contracts as Nautilus `CryptoPerpetual`s."""

from __future__ import annotations

import logging
import time
from decimal import Decimal

from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.config import InstrumentProviderConfig
from nautilus_trader.model.identifiers import InstrumentId

from dolphin_nautilus.adapters.bingx.errors import BingXError
from dolphin_nautilus.adapters.bingx.http.account import BingXAccountHttpAPI
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.market import BingXMarketHttpAPI
from dolphin_nautilus.adapters.bingx.parsing import contract_to_spec, spec_to_perpetual
from dolphin_nautilus.adapters.bingx.refusals import BingXInstrumentNotTradableError
from dolphin_nautilus.adapters.bingx.schemas.market import BingXContract
from dolphin_nautilus.adapters.bingx.symbols import to_venue_symbol
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.instruments")


class BingXInstrumentProvider(InstrumentProvider):
    """Loads `quote/contracts`. With credentials, the account's commissionRate sets the fees (what we really
    pay); without, the contract's own rates or the documented defaults. Offline or non-tradable contracts are
    kept out (they cannot be traded and would only trip the strategy)."""

    def __init__(self, client: BingXHttpClient, config: InstrumentProviderConfig | None = None) -> None:
        super().__init__(config=config)
        self._market = BingXMarketHttpAPI(client)
        self._account = BingXAccountHttpAPI(client) if client.credentials is not None else None
        self.skipped: list[str] = []  # symbols seen but not loaded (not tradable or malformed)

    async def load_all_async(self, filters: dict | None = None) -> None:
        await self._load(await self._market.contracts(), wanted=None)

    async def load_ids_async(self, instrument_ids: list[InstrumentId], filters: dict | None = None) -> None:
        wanted = {to_venue_symbol(str(i)) for i in instrument_ids}
        await self._load(await self._market.contracts(), wanted=wanted)
        missing = sorted(s for s in wanted if self.find(InstrumentId.from_str(f"{s}-PERP.BINGX")) is None)
        if missing:
            raise BingXInstrumentNotTradableError(missing)

    async def load_async(self, instrument_id: InstrumentId, filters: dict | None = None) -> None:
        await self.load_ids_async([instrument_id], filters)

    async def _fees(self) -> tuple[Decimal | None, Decimal | None]:
        if self._account is None:
            return None, None
        try:
            rate = await self._account.commission_rate()
        except BingXError as exc:
            log_event(
                log,
                logging.WARNING,
                "venue_read_failed",
                f"commissionRate unavailable, using contract fees: {exc}",
                code=Code.VENUE_READ_FAILED,
            )
            return None, None
        return Decimal(rate.maker_commission_rate), Decimal(rate.taker_commission_rate)

    async def _load(self, contracts: list[BingXContract], wanted: set[str] | None) -> None:
        maker, taker = await self._fees()
        ts = time.time_ns()
        for contract in contracts:
            if wanted is not None and contract.symbol not in wanted:
                continue
            if not contract.is_tradable or not contract.symbol.endswith("-USDT"):
                self.skipped.append(contract.symbol)
                continue
            try:
                instrument = spec_to_perpetual(contract_to_spec(contract, maker, taker), ts)
            except ValueError as exc:  # a malformed row must not hide the others
                log_event(
                    log,
                    logging.WARNING,
                    "bad_contract",
                    f"skipped BingX contract {contract.symbol}: {exc}",
                    code=Code.VENUE_READ_FAILED,
                )
                self.skipped.append(contract.symbol)
                continue
            self.add_currency(instrument.base_currency)
            self.add_currency(instrument.quote_currency)
            self.add(instrument)
