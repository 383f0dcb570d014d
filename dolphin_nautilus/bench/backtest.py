"""Backtest speed, memory and sameness: the full dolphin stack against the bare engine, same data, one run.

    python -m dolphin_nautilus.bench.backtest [--repeats 3] [--days 30] [--before REF] [--json]

Three configurations, each in its own subprocess (so peak RSS is per configuration), interleaved so machine
noise hits them alike; figures are medians over the repeats:
- subscribe-only: BacktestEngine + the simulated BINGX venue + a strategy that only subscribes to the bars;
- replay: the same bare engine submitting exactly the orders the full stack sent, at the same bars (the
  engine's own cost of those orders, without our book, signals or journal);
- full: `dolphin-backtest` as it runs (DolphinStrategy, the actors, the journal on embedded stores).
Rates are bars per wall second and per CPU second of `engine.run()` (CPU: what a shared machine's load disturbs
least); every engine here is configured and run as the checkout's backtest runner does (`backtest.engine_run`).
`--before REF` (a git ref of this repository, or the path of another checkout) measures the same three
configurations with that code too, in the same run, so a change's effect is side by side; it also checks that
the full stack's trades, legs and PnL are identical in both. Targets and verdicts: `bench.backtest_verdicts`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import msgspec
import pandas as pd

# The child runs against whichever checkout is first on sys.path (see `--before`): it uses only what both the
# current and earlier checkouts have (the launcher's run_backtest, the venue, the data loader).
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.data import BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.identifiers import InstrumentId, PositionId, TraderId
from nautilus_trader.trading.strategy import Strategy

from dolphin_nautilus.adapters.bingx.parsing import spec_to_perpetual
from dolphin_nautilus.backtest.catalogue import SAMPLE_START, spec_for
from dolphin_nautilus.backtest.data import build_bars, read_frame
from dolphin_nautilus.backtest.venue import add_bingx_venue
from dolphin_nautilus.config import load_config
from dolphin_nautilus.contracts.topics import bar_type_name
from dolphin_nautilus.launch.backtest_run import run_backtest
from dolphin_nautilus.node.stores import open_node_stores

INSTRUMENTS = list(SAMPLE_START)
MODES = ("bare", "orders", "full")
MEASURED = ("wall", "cpu", "bars_per_s", "bars_per_cpu_s", "rss_mb", "orders")
# Nautilus fill report columns that say what was traded; ids Nautilus draws at random (init_id) and the
# position id (how the engine groups fills, not what they are) are left out.
FILL_COLUMNS = [
    "client_order_id",
    "instrument_id",
    "venue_order_id",
    "last_trade_id",
    "side",
    "quantity",
    "is_reduce_only",
    "filled_qty",
    "liquidity_side",
    "avg_px",
    "slippage",
    "commission",
    "status",
    "ts_init",
    "ts_last",
]


# ----------------------------------------------------------------------------------------- sameness
def run_digest(facts_by_table: dict[str, list], run_dir: Path, open_positions: list) -> dict:
    """What a backtest did, as counts, totals and hashes: every fact the book and the journal actor emitted
    (trades, exit legs, entries, fills, orders, slot snapshots, account balances, anomalies) in emission
    order, Nautilus's own fills report and the positions still open at the end. Equal digests = the same run."""
    families = {}
    for table in sorted(facts_by_table):
        rows = facts_by_table[table]
        sha = hashlib.sha256()
        for fact in rows:
            sha.update(msgspec.json.encode(fact) + b"\n")
        families[table] = {"rows": len(rows), "sha256": sha.hexdigest()}
    fills = pd.read_csv(run_dir / "fills.csv", dtype=str, keep_default_na=False)
    fills = fills[FILL_COLUMNS].sort_values(["ts_init", "client_order_id"]).reset_index(drop=True)
    families["nautilus_fills"] = {
        "rows": len(fills),
        "sha256": hashlib.sha256(fills.to_csv(index=False).encode()).hexdigest(),
    }
    trades = facts_by_table.get("trades", [])
    legs = facts_by_table.get("trade_exit_legs", [])
    return {
        "families": families,
        "trades": len(trades),
        "legs": len(legs),
        "gross_pnl": str(sum((t.realized_pnl for t in trades), Decimal(0))),
        "fees": str(sum((t.fees for t in trades), Decimal(0))),
        "net_pnl": str(sum((t.net_pnl for t in trades), Decimal(0))),
        "legs_pnl": str(sum((leg.realized_pnl for leg in legs), Decimal(0))),
        "open_positions": [msgspec.to_builtins(p) for p in open_positions],
    }


def sample_slice(days: int, path: Path) -> Path:
    """The first `days` days of the bundled sample (all its instruments) as a Parquet file."""
    frame = read_frame("sample")
    frame[frame["timestamp"] < frame["timestamp"].min() + pd.Timedelta(days=days)].to_parquet(path)
    return path


def run_full_stack(data_path: Path, workdir: Path):
    """`dolphin-backtest` with configs/backtest.toml on `data_path`, stores in `workdir`; the BacktestRun."""
    import dolphin_nautilus  # the checkout being measured: its own configs

    config = load_config(Path(dolphin_nautilus.__file__).resolve().parents[1] / "configs" / "backtest.toml")
    config = msgspec.structs.replace(config, backtest=msgspec.structs.replace(config.backtest, progress=False))
    run_dir = workdir / "run"
    run_dir.mkdir()
    stores = open_node_stores(config, run_dir / "stores")
    try:
        return run_backtest(config, data=str(data_path), run_dir=run_dir, stores=stores, log=lambda _: None)
    finally:
        stores.close()


def sample_digest(days: int, workdir: Path) -> dict:
    """The digest of the full stack on the first `days` days of the sample (the equivalence test's run)."""
    run = run_full_stack(sample_slice(days, workdir / "bars.parquet"), workdir)
    return run_digest(run.tally.by_table_rows, run.run_dir, run.summary.open_positions)


# ------------------------------------------------------------------------------------------- children
class _BarsConfig(StrategyConfig, frozen=True):
    bar_types: list[str]
    orders_csv: str = ""


class SubscribeOnly(Strategy):
    def on_start(self) -> None:
        for bar_type in self.config.bar_types:
            self.subscribe_bars(BarType.from_str(bar_type))

    def on_bar(self, bar) -> None:
        pass


class ReplayOrders(SubscribeOnly):
    """Submits exactly the full stack's orders at the same bars, each with the Nautilus position it had there
    (one per trade when the full stack ran with a HEDGING strategy OMS, none when it netted)."""

    def on_start(self) -> None:
        super().on_start()
        self._due: dict = {}
        frame = pd.read_csv(self.config.orders_csv)
        per_trade = self.oms_type.name == "HEDGING"
        for row in frame.itertuples():
            key = (row.instrument_id, int(pd.Timestamp(row.ts_init).value))
            self._due.setdefault(key, []).append(
                (
                    InstrumentId.from_str(row.instrument_id),
                    OrderSide.BUY if row.side == "BUY" else OrderSide.SELL,
                    str(row.quantity),
                    bool(row.is_reduce_only),
                    PositionId(row.position_id) if per_trade else None,
                )
            )

    def on_bar(self, bar) -> None:
        for iid, side, qty, reduce_only, position_id in self._due.pop(
            (bar.bar_type.instrument_id.value, bar.ts_event), ()
        ):
            instrument = self.cache.instrument(iid)
            self.submit_order(
                self.order_factory.market(iid, side, instrument.make_qty(float(qty)), reduce_only=reduce_only),
                position_id=position_id,
            )


def _engine_settings() -> dict:
    """The shared engine settings of the checkout being measured (an older checkout: what it used then)."""
    try:
        from dolphin_nautilus.backtest.engine_run import engine_settings  # absent in checkouts before issue 16
    except ImportError:
        return {"run_analysis": False}
    return engine_settings()


def _bare_engine(mode: str, data_path: Path, orders_csv: Path, engine_class: type) -> tuple[BacktestEngine, int]:
    specs = {iid: spec_for(iid) for iid in INSTRUMENTS}
    series = build_bars(read_frame(str(data_path)), specs, 1)
    all_bars = [b for s in series.values() for b in s]
    engine = engine_class(
        BacktestEngineConfig(
            trader_id=TraderId("BARE-001"), logging=LoggingConfig(log_level="ERROR"), **_engine_settings()
        )
    )
    add_bingx_venue(engine, starting_balance=Decimal(100000), leverage=Decimal(10), reject_exit_every=0)
    for spec in specs.values():
        engine.add_instrument(spec_to_perpetual(spec))
    engine.add_data(all_bars, validate=False, sort=True)
    oms_type = None
    if mode == "orders":
        positions = pd.read_csv(orders_csv)["position_id"]
        oms_type = "HEDGING" if positions.nunique() > len(INSTRUMENTS) else None  # the full stack's positions
    config = _BarsConfig(
        bar_types=[bar_type_name(i, 1) for i in INSTRUMENTS],
        orders_csv=str(orders_csv),
        oms_type=oms_type,
        log_events=False,
        log_commands=False,
    )
    engine.add_strategy(ReplayOrders(config) if mode == "orders" else SubscribeOnly(config))
    return engine, len(all_bars)


class _RunTimes:
    """Wall and CPU seconds of every `engine.run()` in this process, however the checkout runs it."""

    wall = cpu = 0.0

    @classmethod
    def engine_class(cls) -> type:
        class TimedEngine(BacktestEngine):
            def run(self, *args, **kwargs) -> None:
                cpu, wall = time.process_time(), time.perf_counter()
                super().run(*args, **kwargs)
                cls.wall, cls.cpu = time.perf_counter() - wall, time.process_time() - cpu

        return TimedEngine


def _run_bare(engine: BacktestEngine) -> None:
    try:
        from dolphin_nautilus.backtest.engine_run import run_engine  # absent in checkouts before issue 16
    except ImportError:
        engine.run()
        return
    run_engine(engine)


def _child(mode: str, days: int, workdir: Path, orders_csv: Path) -> dict:
    data_path = sample_slice(days, workdir / "bars.parquet")
    digest = None
    import dolphin_nautilus.node.assembly as assembly  # the checkout's one engine assembly: timed in place

    timed = _RunTimes.engine_class()
    assembly.BacktestEngine = timed  # the full stack's engine.run(), timed
    if mode == "full":
        run = run_full_stack(data_path, workdir)
        bars, trades = run.summary.bars, run.summary.trades
        fills = pd.read_csv(run.run_dir / "fills.csv")
        fills[["ts_init", "instrument_id", "side", "quantity", "is_reduce_only", "position_id"]].to_csv(
            orders_csv, index=False
        )
        digest = run_digest(run.tally.by_table_rows, run.run_dir, run.summary.open_positions)
    else:
        engine, bars = _bare_engine(mode, data_path, orders_csv, timed)
        _run_bare(engine)
        trades = 0
        engine.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = _RunTimes.wall, _RunTimes.cpu
    return {
        "mode": mode,
        "bars": bars,
        "wall": wall,
        "cpu": cpu,
        "bars_per_s": bars / wall,
        "bars_per_cpu_s": bars / cpu,
        "rss_mb": rss_mb,
        "trades": trades,
        "orders": len(pd.read_csv(orders_csv)) if mode == "orders" else 0,
        "digest": digest,
    }


# --------------------------------------------------------------------------------------------- parent
REPO = Path(__file__).resolve().parents[2]


class Checkout:
    """The code of one column: this checkout (path None), another checkout's path, or a git ref of this
    repository checked out into a temporary worktree for the run."""

    def __init__(self, ref: str | None) -> None:
        self.path: Path | None = None
        self._temporary: Path | None = None
        self.label = "now"
        if ref is None:
            return
        if Path(ref).is_dir() and (Path(ref) / "dolphin_nautilus").is_dir():
            self.path = Path(ref).resolve()
        else:
            self._temporary = Path(tempfile.mkdtemp(prefix="bench-before-"))
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(self._temporary), ref],
                check=True,
                capture_output=True,
            )
            self.path = self._temporary
        sha = subprocess.run(
            ["git", "-C", str(self.path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        self.label = f"{ref} ({sha})" if sha and sha not in ref else ref

    def command(self, *args: str) -> tuple[list[str], dict, str | None]:
        """argv, environment and working directory that run this file's child against this checkout."""
        env = dict(os.environ)
        if self.path is None:
            return [sys.executable, "-m", "dolphin_nautilus.bench.backtest", *args], env, None
        # This file's (current) measurement code, importing `dolphin_nautilus` from the other checkout.
        env["PYTHONPATH"] = str(self.path) + os.pathsep + env.get("PYTHONPATH", "")
        code = (
            f"import runpy, sys; sys.argv = ['bench.backtest'] + {list(args)!r}; "
            f"runpy.run_path({str(Path(__file__).resolve())!r}, run_name='__main__')"
        )
        return [sys.executable, "-c", code], env, str(self.path)

    def close(self) -> None:
        if self._temporary is not None:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(self._temporary)], capture_output=True
            )


def _run_child(checkout: Checkout, mode: str, days: int, workdir: Path, orders_csv: Path) -> dict:
    argv, env, cwd = checkout.command(
        "--child", mode, "--days", str(days), "--workdir", str(workdir), "--orders-csv", str(orders_csv)
    )
    out = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{checkout.label} {mode} run failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(days: int, repeats: int, before: str | None, log=print) -> tuple[dict, dict]:
    """Medians per column and mode: {"now": {mode: {...}}, "before": ...}, and the digests' verdict."""
    checkouts = [Checkout(None)] + ([Checkout(before)] if before else [])
    runs: dict[str, dict[str, list[dict]]] = {c.label: {m: [] for m in MODES} for c in checkouts}
    digests: dict[str, list[dict]] = {c.label: [] for c in checkouts}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-backtest-") as shared:
            for rep in range(repeats):
                # full first: "orders" replays the orders of that checkout's full run; checkouts alternate
                for mode in ("full", "bare", "orders"):
                    for i, checkout in enumerate(checkouts):
                        orders_csv = Path(shared) / f"orders-{i}.csv"
                        with tempfile.TemporaryDirectory(dir=shared) as workdir:
                            row = _run_child(checkout, mode, days, Path(workdir), orders_csv)
                        runs[checkout.label][mode].append(row)
                        if row["digest"] is not None:
                            digests[checkout.label].append(row["digest"])
                        log(
                            f"  run {rep + 1} {checkout.label:>24} {mode:6s}: {row['bars']:,} bars in "
                            f"{row['wall']:.2f} s ({row['cpu']:.2f} s CPU) = {row['bars_per_s']:,.0f} bars/s, "
                            f"{row['bars_per_cpu_s']:,.0f} bars/CPU s, peak RSS {row['rss_mb']:.0f} MB"
                        )
    finally:
        for checkout in checkouts:
            checkout.close()
    medians = {}
    for column, checkout in zip(("now", "before"), checkouts, strict=False):
        medians[column] = {
            "label": checkout.label,
            **{
                mode: {key: statistics.median(r[key] for r in rows) for key in MEASURED}
                for mode, rows in runs[checkout.label].items()
            },
        }
        medians[column]["bars"] = runs[checkout.label]["full"][0]["bars"]
        medians[column]["trades"] = runs[checkout.label]["full"][0]["trades"]
    every = [json.dumps(d, sort_keys=True) for rows in digests.values() for d in rows]
    sameness = {
        "identical": len(set(every)) == 1,
        "runs": len(every),
        "trades": digests[checkouts[0].label][0]["trades"],
        "legs": digests[checkouts[0].label][0]["legs"],
        "net_pnl": digests[checkouts[0].label][0]["net_pnl"],
    }
    return medians, sameness


def run(argv: list[str] | None = None) -> list:
    """Measure and print; the checks (for `python -m dolphin_nautilus.bench`)."""
    from dolphin_nautilus.bench.backtest_verdicts import checks, render  # parent only (see Checkout)

    parser = argparse.ArgumentParser(
        prog="python -m dolphin_nautilus.bench.backtest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--days", type=int, default=30, help="days of the sample (30 = all of it)")
    parser.add_argument("--before", metavar="REF", help="a git ref of this repository, or another checkout's path")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON (last line)")
    args = parser.parse_args(argv)
    medians, sameness = measure(
        args.days, args.repeats, args.before, log=(lambda line: print(line, file=sys.stderr)) if args.json else print
    )
    found = checks(medians, sameness)  # parent only (see Checkout)
    if args.json:
        from dolphin_nautilus.bench.verdicts import to_json  # parent only (see Checkout)

        print(to_json(found).decode())
    else:
        from dolphin_nautilus.bench.verdicts import table  # parent only (see Checkout)

        print(render(medians, args.days, args.repeats, INSTRUMENTS))
        print(table(found))
    return found


def main() -> None:
    if "--child" in sys.argv:  # one measurement, in its own process (possibly against another checkout)
        parser = argparse.ArgumentParser()
        parser.add_argument("--child", choices=MODES)
        parser.add_argument("--days", type=int)
        parser.add_argument("--workdir")
        parser.add_argument("--orders-csv")
        args = parser.parse_args()
        print(json.dumps(_child(args.child, args.days, Path(args.workdir), Path(args.orders_csv))))
        return
    run()


if __name__ == "__main__":
    main()
