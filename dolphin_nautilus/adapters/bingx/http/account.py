"""Account endpoints (docs/reference/bingx_api.md §6): balance, positions, position mode, commission rate."""

from __future__ import annotations

from dolphin_nautilus.adapters.bingx.common.enums import BingXPositionMode
from dolphin_nautilus.adapters.bingx.errors import BingXHedgeModeError, ErrorKind, VenueOutcome
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.schemas.account import (
    BingXBalance,
    BingXCommissionRate,
    BingXCommissionRateData,
    BingXPosition,
    BingXPositionModeData,
)

_DUAL = "/openApi/swap/v1/positionSide/dual"


class BingXAccountHttpAPI:
    def __init__(self, client: BingXHttpClient) -> None:
        self.client = client
        self._position_mode: BingXPositionMode | None = None

    async def balances(self) -> list[BingXBalance]:
        """v3 balance: one row per margin asset. Rows with an empty asset are dropped (CCXT saw them)."""
        rows: list[BingXBalance] = await self.client.call(
            "GET", "/openApi/swap/v3/user/balance", None, list[BingXBalance]
        )
        return [r for r in rows if r.asset]

    async def position_mode(self, *, refresh: bool = False) -> BingXPositionMode:
        """Hedge vs one-way. Cached: the venue only allows a switch with no positions and no orders."""
        if self._position_mode is None or refresh:
            data: BingXPositionModeData = await self.client.call("GET", _DUAL, None, BingXPositionModeData)
            self._position_mode = BingXPositionMode.HEDGE if data.dual_side_position else BingXPositionMode.ONE_WAY
        return self._position_mode

    async def ensure_one_way(self, *, refresh: bool = False) -> None:
        """Raise BingXHedgeModeError if the account is in hedge mode (we trade NETTING only)."""
        if await self.position_mode(refresh=refresh) is BingXPositionMode.HEDGE:
            raise BingXHedgeModeError(
                code=None,
                msg=(
                    "BingX account is in HEDGE (dual-side) position mode; this adapter trades one-way only. "
                    "Switch it with POST /openApi/swap/v1/positionSide/dual dualSidePosition=false "
                    "(needs no open positions or orders)."
                ),
                outcome=VenueOutcome.DEFINITIVE_REJECT,
                fault=None,  # a position-mode problem is no slot fault
                kind=ErrorKind.REJECT,
                endpoint=f"GET {_DUAL}",
            )

    async def positions(self, symbol: str | None = None, *, require_one_way: bool = True) -> list[BingXPosition]:
        """Open positions. By default first checks the account is one-way (cached after the first call)."""
        if require_one_way:
            await self.ensure_one_way()
        rows: list[BingXPosition] = await self.client.call(
            "GET", "/openApi/swap/v2/user/positions", {"symbol": symbol}, list[BingXPosition]
        )
        return [p for p in rows if symbol is None or p.symbol == symbol]

    async def commission_rate(self) -> BingXCommissionRate:
        data: BingXCommissionRateData = await self.client.call(
            "GET", "/openApi/swap/v2/user/commissionRate", None, BingXCommissionRateData
        )
        return data.commission
