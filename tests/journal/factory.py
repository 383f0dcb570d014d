"""Deterministic facts of all 8 row families: fact number i is the same in every process."""

from __future__ import annotations

from decimal import Decimal

from dolphin_nautilus.domain.facts import (
    Anomaly,
    CapitalUpdate,
    Fact,
    FillFact,
    OrderEvent,
    PositionState,
    TradeClosed,
    TradeEntry,
    TradeExitLeg,
)

BASE_TS = 1_780_000_000_123_456_789


def make_fact(i: int) -> Fact:
    """Fact number i; cycles through the 8 families so every batch touches every table."""
    trade = f"T{i // 8 % 50:03d}"
    ts = BASE_TS + i
    qty = Decimal("0.001") * (i % 97 + 1)
    px = Decimal("65000.5") + i
    common = {"ts": ts, "origin": "kernel"}
    match i % 8:
        case 0:
            return TradeEntry(
                **common,
                trade_id=trade,
                instrument_id="BTC-USDT-SWAP.BINGX",
                side="LONG",
                quantity=qty,
                price=px,
                notional=qty * px,
                fee=Decimal("0.0002"),
                client_order_id=f"O{i}",
            )
        case 1:
            return TradeExitLeg(
                **common,
                trade_id=trade,
                instrument_id="BTC-USDT-SWAP.BINGX",
                leg_no=i % 3,
                reason="TP1",
                quantity=qty,
                price=px,
                notional=qty * px,
                realized_pnl=Decimal("-1.25"),
                fee=Decimal("0.01"),
                remaining_quantity=Decimal("0"),
                is_final=i % 2 == 0,
                client_order_id=f"O{i}",
                venue_trade_id=f"V{i}",
            )
        case 2:
            return TradeClosed(
                **common,
                trade_id=trade,
                instrument_id="ETH-USDT-SWAP.BINGX",
                side="SHORT",
                entry_avg_px=px,
                exit_avg_px=px - 1,
                quantity=qty,
                realized_pnl=qty,
                fees=Decimal("0.02"),
                net_pnl=qty - Decimal("0.02"),
                bars_held=i % 40,
                legs=2,
                exit_reason="SL",
                opened_ts=ts - 10**9,
            )
        case 3:
            return position_state(trade, seq=i, status="OPEN" if i % 3 else "CLOSED", quantity=qty, ts=ts)
        case 4:
            return CapitalUpdate(
                **common,
                currency="USDT",
                total=Decimal("1000.123456789012345678"),
                free=Decimal("900"),
                locked=Decimal("100.123456789012345678"),
                delta=Decimal("-0.5"),
                reason="fee",
            )
        case 5:
            return OrderEvent(
                **common,
                client_order_id=f"O{i}",
                venue_order_id=f"VO{i}",
                trade_id=trade,
                instrument_id="BTC-USDT-SWAP.BINGX",
                side="BUY",
                type="MARKET",
                quantity=qty,
                price=Decimal(0),
                reduce_only=i % 2 == 1,
                event="FILLED",
                reason="",
            )
        case 6:
            return FillFact(
                **common,
                venue_trade_id=f"V{i}",
                client_order_id=f"O{i}",
                venue_order_id=f"VO{i}",
                trade_id=trade,
                instrument_id="BTC-USDT-SWAP.BINGX",
                side="SELL",
                quantity=qty,
                price=px,
                fee=Decimal("0.00001"),
                liquidity="TAKER",
            )
        case _:
            return Anomaly(
                **common,
                code="TEST",
                severity="WARNING",
                trade_id=trade,
                instrument_id="",
                message=f"anomaly {i}",
                details='{"i":' + str(i) + "}",
            )


def position_state(
    trade: str,
    *,
    seq: int,
    status: str = "OPEN",
    quantity: Decimal = Decimal("1.5"),
    ts: int = BASE_TS,
    origin: str = "kernel",
) -> PositionState:
    return PositionState(
        ts=ts,
        origin=origin,
        trade_id=trade,
        instrument_id="BTC-USDT-SWAP.BINGX",
        side="LONG",
        status=status,
        quantity=quantity,
        notional=quantity * 65000,
        entry_price=Decimal("65000"),
        bars_held=seq,
        realized_pnl=Decimal(0),
        fees=Decimal("0.1"),
        legs=1,
        seq=seq,
        opened_ts=BASE_TS - 1,
        order_seq=seq,
    )


def make_facts(start: int, stop: int) -> list[Fact]:
    return [make_fact(i) for i in range(start, stop)]


def row_ids_by_table(facts: list[Fact]) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for fact in facts:
        out.setdefault(fact.table, set()).add(fact.row_id)
    return out
