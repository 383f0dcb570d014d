"""REST handlers of the emulated venue's account endpoints (positions, balances, commission, income,
leverage, margin type, position mode) and of the user-data-stream listen keys.
"""

from __future__ import annotations

from collections.abc import Callable

from . import errors as E
from . import wire as W
from .config import EmulatorConfig
from .engine import Engine
from .errors import VenueReject
from .listen_keys import ListenKeys
from .rest_params import Raw, param_bool, param_int, required_param
from .streams import StreamHub


class AccountRoutes:
    """The signed account endpoints and the listen keys."""

    # Set up by EmulatorServer (server.py).
    config: EmulatorConfig
    engine: Engine
    server_ms: Callable[[], int]
    listen_keys: ListenKeys
    hub: StreamHub

    async def positions(self, params: dict[str, str]) -> object:
        return [W.position_object(self.engine, p) for p in self.engine.positions(params.get("symbol"))]

    async def balance_v3(self, params: dict[str, str]) -> object:
        return [W.balance_object(self.engine)]

    async def balance_v2(self, params: dict[str, str]) -> object:
        return {"balance": W.balance_object(self.engine)}

    async def commission_rate(self, params: dict[str, str]) -> object:
        spec = next(iter(self.engine.contracts.values())).spec
        return {
            "commission": {"takerCommissionRate": float(spec.taker_fee), "makerCommissionRate": float(spec.maker_fee)}
        }

    async def income(self, params: dict[str, str]) -> object:
        end = param_int(params, "endTime", self.server_ms())
        start = param_int(params, "startTime", end - 7 * 86_400_000)
        symbol, kind = params.get("symbol"), params.get("incomeType")
        limit = min(param_int(params, "limit", 100) or 100, 1000)
        found = [
            i
            for i in self.engine.account.income
            if start <= i.time <= end and (not symbol or i.symbol == symbol) and (not kind or i.income_type == kind)
        ]
        rows = [
            {
                "symbol": i.symbol,
                "incomeType": i.income_type,
                "income": W.dec(i.income, 8),
                "asset": "USDT",
                "info": i.income_type.replace("_", " ").title(),
                "time": str(i.time),
                "tranId": str(i.tran_id),
                "tradeId": i.trade_id,
            }
            for i in found[:limit]
        ]
        # the recorded venue answer carries `code` as the string "0" here (CCXT's fetchFundingHistory data)
        return Raw({"code": "0", "msg": "", "data": rows})

    async def get_leverage(self, params: dict[str, str]) -> object:
        contract = self.engine.contract(required_param(params, "symbol"))
        long_side, short_side = ("LONG", "SHORT") if self.engine.account.dual_side else ("BOTH", "BOTH")
        max_lev = contract.spec.max_leverage
        return {
            "longLeverage": self.engine.leverage(contract.symbol, long_side),
            "shortLeverage": self.engine.leverage(contract.symbol, short_side),
            "maxLongLeverage": max_lev,
            "maxShortLeverage": max_lev,
            "availableLongVol": "0",
            "availableShortVol": "0",
            "availableLongVal": "0",
            "availableShortVal": "0",
            "maxPositionLongVal": "0",
            "maxPositionShortVal": "0",
        }

    async def set_leverage(self, params: dict[str, str]) -> object:
        symbol, side = required_param(params, "symbol"), required_param(params, "side")
        leverage = param_int(params, "leverage")
        if leverage is None:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:leverage is required")
        self.engine.set_leverage(symbol, side, leverage)
        return {"leverage": leverage, "symbol": symbol}

    async def get_margin_type(self, params: dict[str, str]) -> object:
        return {"marginType": self.engine.margin_type(self.engine.contract(required_param(params, "symbol")).symbol)}

    async def set_margin_type(self, params: dict[str, str]) -> object:
        self.engine.set_margin_type(required_param(params, "symbol"), required_param(params, "marginType"))
        return Raw({"code": 0, "msg": ""})

    async def get_dual(self, params: dict[str, str]) -> object:
        return {"dualSidePosition": "true" if self.engine.account.dual_side else "false"}

    async def set_dual(self, params: dict[str, str]) -> object:
        dual = param_bool(params, "dualSidePosition")
        if dual is None:
            raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:dualSidePosition is required")
        self.engine.set_dual_side(dual)
        return {"dualSidePosition": "true" if dual else "false"}

    # ------------------------------------------------------------------ listen keys
    async def create_listen_key(self, params: dict[str, str]) -> object:
        return Raw({"listenKey": self.listen_keys.create()})

    async def extend_listen_key(self, params: dict[str, str]) -> object:
        if not self.listen_keys.extend(params.get("listenKey", "")):
            return Raw({"code": 100400, "msg": "listenKey not exist or expired"}, status=404)
        return Raw({})

    async def delete_listen_key(self, params: dict[str, str]) -> object:
        key = params.get("listenKey", "")
        if not self.listen_keys.delete(key):
            return Raw({"code": 100400, "msg": "listenKey not exist"}, status=404)
        self.hub.close_user_streams(key)
        return Raw({})
