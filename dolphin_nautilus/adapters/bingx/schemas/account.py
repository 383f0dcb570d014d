"""Account, position and listenKey payloads (docs/reference/bingx_api.md §6, docs/reference/bingx_api.md §9.3)."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from dolphin_nautilus.adapters.bingx.common.enums import BingXPositionSide, parse_position_side
from dolphin_nautilus.adapters.bingx.schemas.common import Num


class BingXBalance(msgspec.Struct, rename="camel"):
    """v3 balance row (one per margin asset). free = available_margin."""

    asset: str
    balance: Num = Num(0)
    equity: Num = Num(0)
    unrealized_profit: Num = Num(0)
    realised_profit: Num = Num(0)
    available_margin: Num = Num(0)
    used_margin: Num = Num(0)
    freezed_margin: Num = Num(0)
    user_id: str = ""


class BingXPosition(msgspec.Struct, rename="camel"):
    """`user/positions` row. `position_amt` is unsigned over REST; direction is in `position_side`."""

    symbol: str
    position_side: str
    position_amt: Num
    position_id: str = ""  # a string on the wire; the docs' own sample masks it ("1735*****52")
    currency: str = "USDT"
    available_amt: Num = Num(0)
    isolated: bool = False
    avg_price: Num = Num(0)
    initial_margin: Num = Num(0)
    margin: Num = Num(0)
    leverage: int = 0
    unrealized_profit: Num = Num(0)
    realised_profit: Num = Num(0)
    liquidation_price: Num = Num(0)
    mark_price: Num = Num(0)
    position_value: Num = Num(0)
    only_one_position: bool = False
    update_time: int = 0

    @property
    def side(self) -> BingXPositionSide:
        return parse_position_side(self.position_side)

    @property
    def signed_amount(self) -> Decimal:
        """Positive long, negative short. For BOTH the venue already signs the amount."""
        amount = Decimal(self.position_amt)
        if self.side is BingXPositionSide.SHORT:
            return -abs(amount)
        if self.side is BingXPositionSide.LONG:
            return abs(amount)
        return amount


class BingXPositionModeData(msgspec.Struct):
    dual_side_position: bool = msgspec.field(name="dualSidePosition")  # "true" = hedge


class BingXCommissionRate(msgspec.Struct, rename="camel"):
    taker_commission_rate: Num
    maker_commission_rate: Num


class BingXCommissionRateData(msgspec.Struct):
    commission: BingXCommissionRate


class BingXListenKey(msgspec.Struct):
    listen_key: str = msgspec.field(name="listenKey")
