"""Book walking (slippage, VWAP, a fill per level), price-time priority of resting limits, funding at
00/08/16 UTC and liquidation at risk rate 100%, driven by an injected clock so nothing waits."""

from __future__ import annotations

from decimal import Decimal

import pytest

from dolphin_nautilus.bingx_emulator import ContractSpec, EmulatorConfig, EmulatorHandle, FillModel
from dolphin_nautilus.bingx_emulator.clock import ManualClock

from .venue import Venue, next_event, run

HOUR_MS = 3_600_000
THIN_BTC = ContractSpec("BTC-USDT", "50000.0", 1, 4, "0.0001", book_level_qty="0.01", maint_margin_ratio="0.004")


@pytest.fixture
def manual_venue():
    handles: list[EmulatorHandle] = []

    def start(start_ms: int, **fields) -> EmulatorHandle:
        handle = EmulatorHandle(EmulatorConfig(**fields), clock=ManualClock(start_ms)).start()
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.close()


def test_a_large_market_order_walks_the_book_pays_slippage_and_moves_the_price(bingx_emulator_factory):
    venue = bingx_emulator_factory(contracts={"BTC-USDT": THIN_BTC}, initial_balance="100000")
    # levels 0.01, 0.02, 0.03, ... at 50000.1, 50000.2, ...: 0.06 BTC takes three levels
    reply = run(
        venue, lambda v: v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.06")
    )
    fills = venue.state.fills
    assert [(f.price, f.qty) for f in fills] == [
        (Decimal("50000.1"), Decimal("0.01")),
        (Decimal("50000.2"), Decimal("0.02")),
        (Decimal("50000.3"), Decimal("0.03")),
    ]
    vwap = sum(f.price * f.qty for f in fills) / Decimal("0.06")
    assert Decimal(reply.data["order"]["avgPrice"]) == vwap.quantize(Decimal("0.1"), rounding="ROUND_HALF_EVEN")
    assert venue.price("BTC-USDT") == Decimal("50000.3")  # the last print is the deepest level touched
    small = bingx_emulator_factory(contracts={"BTC-USDT": THIN_BTC})
    run(small, lambda v: v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.01"))
    assert [f.price for f in small.state.fills] == [Decimal("50000.1")]  # the best ask, no slippage


def test_one_vwap_fill_when_configured(bingx_emulator_factory):
    venue = bingx_emulator_factory(contracts={"BTC-USDT": THIN_BTC}, fill_model=FillModel(fill_per_level=False))
    run(venue, lambda v: v.order(symbol="BTC-USDT", side="SELL", positionSide="BOTH", type="MARKET", quantity="0.03"))
    [fill] = venue.state.fills
    assert fill.qty == Decimal("0.03") and fill.price == (Decimal("49999.9") * 1 + Decimal("49999.8") * 2) / 3


def test_depth_shows_the_book_that_takers_walk(bingx_emulator_factory):
    venue = bingx_emulator_factory(contracts={"BTC-USDT": THIN_BTC})
    depth = run(venue, lambda v: v.public("/openApi/swap/v2/quote/depth", symbol="BTC-USDT", limit=5)).data
    assert depth["bids"][0] == ["49999.9", "0.01"] and depth["asks"][-1] == ["50000.1", "0.01"]
    assert depth["asks"][0] == ["50000.5", "0.05"]  # asks high -> low, best last, as the venue sends them


def test_resting_limits_fill_in_price_time_priority(bingx_emulator_factory):
    venue = bingx_emulator_factory(fill_model=FillModel(feed_qty_caps_resting=True))
    venue.set_price("BTC-USDT", "50000")

    async def scenario(v: Venue):
        ids = {}
        for name, price in (("early", "49900"), ("late", "49900"), ("better", "49950")):
            reply = await v.order(
                symbol="BTC-USDT",
                side="BUY",
                positionSide="BOTH",
                type="LIMIT",
                quantity="0.01",
                price=price,
                clientOrderId=name,
            )
            ids[reply.data["order"]["orderId"]] = name
        return ids

    names = run(venue, scenario)
    venue.set_price("BTC-USDT", "49900", qty="0.02")  # a print of 0.02 through both levels
    filled = [names[f.order_id] for f in venue.state.fills]
    assert filled == ["better", "early"]  # best price first, then the older order at the same price
    venue.set_price("BTC-USDT", "49890", qty="0.01")
    assert [names[f.order_id] for f in venue.state.fills] == ["better", "early", "late"]


def test_funding_at_00_08_16_utc_is_applied_and_reported(manual_venue):
    day = 1_767_225_600_000  # 2026-01-01T00:00:00Z
    venue = manual_venue(day + 7 * HOUR_MS, funding_rate="0.0001", initial_balance="10000")
    venue.set_price("BTC-USDT", "50000")

    async def scenario(v: Venue):
        key = (await v.signed("POST", "/openApi/user/auth/userDataStream", timestamp=venue.clock.now_ms())).json
        async with v.session.ws_connect(venue.ws_user_url(key["listenKey"])) as ws:
            await v.order(
                symbol="BTC-USDT",
                side="BUY",
                positionSide="BOTH",
                type="MARKET",
                quantity="0.1",
                timestamp=venue.clock.now_ms(),
            )
            balance_before = venue.state.balance
            venue.advance_clock(HOUR_MS - 1)  # 07:59:59.999: not yet
            assert venue.state.balance == balance_before
            venue.advance_clock(1)  # 08:00:00
            events = []
            while True:
                item = await next_event(ws, skip=("Ping", "ACCOUNT_CONFIG_UPDATE", "ORDER_TRADE_UPDATE"))
                events.append(item)
                if item["a"]["m"] == "FUNDING_FEE":
                    break
            income = await v.signed(
                "GET", "/openApi/swap/v2/user/income", {"incomeType": "FUNDING_FEE"}, timestamp=venue.clock.now_ms()
            )
            premium = await v.public("/openApi/swap/v2/quote/premiumIndex", symbol="BTC-USDT")
            return balance_before, events[-1], income, premium

    before, funding, income, premium = run(venue, scenario)
    mark = venue.price("BTC-USDT")
    paid = Decimal("0.1") * mark * Decimal("0.0001")  # a long pays a positive rate
    assert venue.state.balance == before - paid
    assert funding["a"]["P"] == [] and Decimal(funding["a"]["B"][0]["bc"]) == -paid  # cross: balance only
    [row] = income.data
    assert Decimal(row["income"]) == -paid and int(row["time"]) == day + 8 * HOUR_MS
    assert premium.data["nextFundingTime"] == day + 16 * HOUR_MS
    venue.advance_clock(16 * HOUR_MS)  # 16:00 and 00:00 the next day
    assert [i.time for i in venue.state.income if i.income_type == "FUNDING_FEE"][1:] == [
        day + 24 * HOUR_MS,
        day + 24 * HOUR_MS,
    ]  # both settled when the clock jumped to 00:00


def test_liquidation_at_risk_rate_100_percent(manual_venue):
    venue = manual_venue(
        1_767_225_600_000 + HOUR_MS, initial_balance="600", default_leverage=20, contracts={"BTC-USDT": THIN_BTC}
    )

    async def scenario(v: Venue):
        now = venue.clock.now_ms
        key = (await v.signed("POST", "/openApi/user/auth/userDataStream", timestamp=now())).json
        async with v.session.ws_connect(venue.ws_user_url(key["listenKey"])) as ws:
            await v.order(
                symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.2", timestamp=now()
            )
            [pos] = (await v.signed("GET", "/openApi/swap/v2/user/positions", timestamp=now())).data
            liq = Decimal(str(pos["liquidationPrice"]))
            venue.set_price("BTC-USDT", liq + 20)
            still = (await v.signed("GET", "/openApi/swap/v2/user/positions", timestamp=now())).data
            venue.set_price("BTC-USDT", liq - 1)
            while True:
                event = await next_event(ws, skip=("Ping", "ACCOUNT_CONFIG_UPDATE", "ACCOUNT_UPDATE"))
                if event["o"]["o"] == "LIQUIDATION":
                    break
            after = (await v.signed("GET", "/openApi/swap/v2/user/positions", timestamp=now())).data
            forced = (
                await v.signed("GET", "/openApi/swap/v2/trade/forceOrders", {"symbol": "BTC-USDT"}, timestamp=now())
            ).data
            return pos, liq, still, event, after, forced

    _, liq, still, event, after, forced = run(venue, scenario)
    # cross margin, 0.2 BTC at ~50000 on 600 USDT: liquidated where equity = maintenance margin, i.e.
    # 0.2 * (entry - p) = 600 - fees - 0.2 * p * 0.004  ->  p ~ 47214
    assert Decimal("47200") < liq < Decimal("47230")
    assert len(still) == 1 and Decimal(still[0]["riskRate"]) < 1
    assert (event["o"]["x"], event["o"]["X"], event["o"]["S"]) == ("CALCULATED", "FILLED", "SELL")
    assert after == [] and [o["type"] for o in forced["orders"]] == ["LIQUIDATION"]
    assert venue.state.balance >= 0


def test_hedge_mode_end_to_end(bingx_emulator_factory):
    venue = bingx_emulator_factory(dual_side_position=True)
    venue.set_price("BTC-USDT", "50000")

    async def scenario(v: Venue):
        key = (await v.signed("POST", "/openApi/user/auth/userDataStream")).json
        async with v.session.ws_connect(venue.ws_user_url(key["listenKey"])) as ws:
            config = await next_event(ws, skip=("Ping",))
            lev = await v.signed(
                "POST", "/openApi/swap/v2/trade/leverage", {"symbol": "BTC-USDT", "side": "SHORT", "leverage": 3}
            )
            both = await v.signed(
                "POST", "/openApi/swap/v2/trade/leverage", {"symbol": "BTC-USDT", "side": "BOTH", "leverage": 3}
            )
            long_ = await v.order(symbol="BTC-USDT", side="BUY", positionSide="LONG", type="MARKET", quantity="0.01")
            short = await v.order(symbol="BTC-USDT", side="SELL", positionSide="SHORT", type="MARKET", quantity="0.02")
            reduce_only = await v.order(
                symbol="BTC-USDT", side="SELL", positionSide="LONG", type="MARKET", quantity="0.01", reduceOnly="true"
            )
            positions = (await v.signed("GET", "/openApi/swap/v2/user/positions")).data
            close_long = await v.order(
                symbol="BTC-USDT", side="SELL", positionSide="LONG", type="MARKET", quantity="0.01"
            )
            over_close = await v.order(
                symbol="BTC-USDT", side="BUY", positionSide="SHORT", type="MARKET", quantity="0.05"
            )
            updates = []
            while len(updates) < 3:
                event = await next_event(ws, skip=("Ping", "ORDER_TRADE_UPDATE"))
                if event["e"] == "ACCOUNT_UPDATE":
                    updates.append(event["a"]["P"][0])
            left = (await v.signed("GET", "/openApi/swap/v2/user/positions")).data
            return config, lev, both, long_, short, reduce_only, positions, close_long, over_close, updates, left

    config, lev, both, long_, short, reduce_only, positions, close_long, over_close, updates, left = run(
        venue, scenario
    )
    assert config["e"] == "ACCOUNT_CONFIG_UPDATE" and lev.code == 0 and both.code == 109400
    assert long_.code == 0 and short.code == 0 and reduce_only.code == 109400
    assert sorted((p["positionSide"], p["positionAmt"], p["leverage"]) for p in positions) == [
        ("LONG", "0.0100", 5),
        ("SHORT", "0.0200", 3),
    ]
    assert close_long.code == 0 and over_close.code == 109400
    assert [(u["ps"], u["pa"]) for u in updates] == [
        ("LONG", "0.01000000"),
        ("SHORT", "0.02000000"),
        ("LONG", "0.00000000"),
    ]
    assert [(p["positionSide"], p["positionAmt"]) for p in left] == [("SHORT", "0.0200")]
