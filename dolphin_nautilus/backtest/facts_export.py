"""The facts a run emitted, as the journal saw them, and their compact export (one Parquet file per row family).

`RunFacts` is the journal actor's observer in a backtest: it keeps every fact by table, plus the views the
summary needs (closed trades, exit legs, the USDT equity curve). `export_facts` writes them as Parquet: a run
folder then holds its facts in a few hundred kB instead of an embedded database of ~120 MB.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import msgspec
import pandas as pd

from dolphin_nautilus.domain.facts import FACT_TYPE_BY_TABLE, CapitalUpdate, Fact, TradeClosed, TradeEntry, TradeExitLeg


class RunFacts:
    """Observer of the journal actor: every fact of the run, by table."""

    def __init__(self) -> None:
        self.by_table_rows: dict[str, list[Fact]] = {}

    def __call__(self, fact: Fact) -> None:
        self.by_table_rows.setdefault(fact.table, []).append(fact)

    @property
    def by_table(self) -> dict[str, int]:
        return {table: len(rows) for table, rows in self.by_table_rows.items()}

    @property
    def trades(self) -> list[TradeClosed]:
        return self.by_table_rows.get(TradeClosed.table, [])  # type: ignore[return-value]

    @property
    def legs(self) -> list[TradeExitLeg]:
        return self.by_table_rows.get(TradeExitLeg.table, [])  # type: ignore[return-value]

    @property
    def entries(self) -> list[TradeEntry]:
        return self.by_table_rows.get(TradeEntry.table, [])  # type: ignore[return-value]

    @property
    def equity(self) -> list[tuple[int, Decimal]]:
        return [
            (f.ts, f.total)
            for f in self.by_table_rows.get(CapitalUpdate.table, [])
            if isinstance(f, CapitalUpdate) and f.currency == "USDT"
        ]


def facts_frame(rows: list[Fact]) -> pd.DataFrame:
    """Facts as a typed frame: `ts` columns as UTC datetimes, decimals as strings (exact), row ids kept."""
    records = [{"row_id": f.row_id, **msgspec.structs.asdict(f)} for f in rows]
    frame = pd.DataFrame.from_records(records)
    for column in frame.columns:
        if column == "ts" or column.endswith("_ts"):
            frame[column] = pd.to_datetime(frame[column].astype("int64"), unit="ns", utc=True)
        elif len(frame) and isinstance(frame[column].iloc[0], Decimal):
            frame[column] = frame[column].map(str)
    return frame


def export_facts(facts: RunFacts, folder: Path) -> list[Path]:
    """One `<table>.parquet` per row family the run produced (zstd-compressed)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for table in FACT_TYPE_BY_TABLE:
        rows = facts.by_table_rows.get(table)
        if not rows:
            continue
        path = folder / f"{table}.parquet"
        facts_frame(rows).to_parquet(path, compression="zstd", index=False)
        written.append(path)
    return written
