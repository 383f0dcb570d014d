"""The backtest benchmark's table and verdicts (`bench.backtest`), from the medians of its runs.

Each figure is given per wall second and per CPU second of `engine.run()`: the machines are shared, and CPU time
is what another process's load disturbs least, so the throughput targets are judged on CPU time; the wall
ratios are printed beside them. Targets (issue 16): full stack >= 0.92 x the bare engine replaying its orders;
peak RSS of the full stack <= 1.2 x the bare (subscribe-only) engine's; the full stack's `engine.run()` at most
half of the before column's; trades, legs and PnL identical to before.
"""

from __future__ import annotations

from dolphin_nautilus.bench.verdicts import Check, at_least, at_most, reported

FULL_VS_REPLAY_TARGET = 0.92
MEMORY_TARGET = 1.2
RUN_VS_BEFORE_TARGET = 0.5


def ratios(m: dict) -> dict:
    full, replay, bare = m["full"], m["orders"], m["bare"]
    orders = replay["orders"] or 1
    return {
        "full_vs_replay_cpu": full["bars_per_cpu_s"] / replay["bars_per_cpu_s"],
        "full_vs_replay_wall": full["bars_per_s"] / replay["bars_per_s"],
        "replay_vs_subscribe_cpu": replay["bars_per_cpu_s"] / bare["bars_per_cpu_s"],
        "replay_vs_subscribe_wall": replay["bars_per_s"] / bare["bars_per_s"],
        "order_cost_ms": (replay["cpu"] - bare["cpu"]) / orders * 1000,  # Nautilus's own, per order and its fill
        "ours_cost_us": (full["cpu"] - replay["cpu"]) / m["bars"] * 1e6,  # our stack's, per bar
        "memory": full["rss_mb"] / bare["rss_mb"],
    }


def checks(medians: dict, sameness: dict) -> list[Check]:
    now = ratios(medians["now"])
    out = [
        at_least(
            "backtest",
            "full stack / bare engine replaying its orders (bars per CPU s)",
            now["full_vs_replay_cpu"],
            FULL_VS_REPLAY_TARGET,
            note=f"per wall s: {now['full_vs_replay_wall']:.3f}; ours {now['ours_cost_us']:.1f} us CPU per bar",
        ),
        reported(
            "backtest",
            "bare engine replaying the orders / subscribe-only (bars per CPU s)",
            now["replay_vs_subscribe_cpu"],
            note=f"per wall s: {now['replay_vs_subscribe_wall']:.3f}; NautilusTrader's own cost "
            f"{now['order_cost_ms']:.2f} ms CPU per order and fill",
        ),
        at_most("backtest", "peak RSS full stack / bare engine (subscribe-only)", now["memory"], MEMORY_TARGET),
    ]
    if "before" in medians:
        now_full, before_full = medians["now"]["full"], medians["before"]["full"]
        label = f"before = {medians['before']['label']}"
        out += [
            at_most(
                "backtest",
                "full-stack engine.run() wall time, now / before",
                now_full["wall"] / before_full["wall"],
                RUN_VS_BEFORE_TARGET,
                note=label,
            ),
            at_most(
                "backtest",
                "full-stack engine.run() CPU time, now / before",
                now_full["cpu"] / before_full["cpu"],
                RUN_VS_BEFORE_TARGET,
                note=label,
            ),
            at_least(
                "backtest",
                "trades, legs, PnL identical to before (1 = yes)",
                1.0 if sameness["identical"] else 0.0,
                1,
                note=f"{sameness['trades']} trades, {sameness['legs']} legs, net {sameness['net_pnl']}",
            ),
        ]
    return out


def _rates(mode: dict) -> tuple[float, float]:
    return mode["bars_per_s"], mode["bars_per_cpu_s"]


ROWS = [
    ("engine.run() wall, full stack (s)", lambda m: m["full"]["wall"], "{:12.2f}"),
    ("engine.run() CPU, full stack (s)", lambda m: m["full"]["cpu"], "{:12.2f}"),
    ("full stack (bars/s | per CPU s)", lambda m: (m["full"]["bars_per_s"], m["full"]["bars_per_cpu_s"]), None),
    (
        "replaying the orders (bars/s | per CPU s)",
        lambda m: (m["orders"]["bars_per_s"], m["orders"]["bars_per_cpu_s"]),
        None,
    ),
    ("subscribe-only (bars/s | per CPU s)", lambda m: (m["bare"]["bars_per_s"], m["bare"]["bars_per_cpu_s"]), None),
    ("full / replay (wall | CPU)", lambda m: (ratios(m)["full_vs_replay_wall"], ratios(m)["full_vs_replay_cpu"]), "r"),
    (
        "replay / subscribe-only (wall | CPU)",
        lambda m: (ratios(m)["replay_vs_subscribe_wall"], ratios(m)["replay_vs_subscribe_cpu"]),
        "r",
    ),
    ("Nautilus CPU per order+fill (ms)", lambda m: ratios(m)["order_cost_ms"], "{:12.2f}"),
    ("our stack's CPU per bar (us)", lambda m: ratios(m)["ours_cost_us"], "{:12.1f}"),
    ("peak RSS full / subscribe-only", lambda m: ratios(m)["memory"], "{:12.2f}"),
    ("peak RSS full | subscribe-only (MB)", lambda m: (m["full"]["rss_mb"], m["bare"]["rss_mb"]), None),
]


def _cell(value, fmt: str | None) -> str:
    if fmt is None:
        return f"{value[0]:,.0f} | {value[1]:,.0f}".rjust(16)
    if fmt == "r":
        return f"{value[0]:.2f} | {value[1]:.2f}".rjust(16)
    return fmt.format(value).rjust(16)


def render(medians: dict, days: int, repeats: int, instruments: list[str]) -> str:
    columns = [c for c in ("before", "now") if c in medians]
    m0 = medians["now"]
    lines = [
        f"backtest: {m0['bars']:,} bars ({days} days of the sample, {len(instruments)} instruments), "
        f"{m0['trades']} trades; medians of {repeats} runs"
    ]
    lines += [f"  before = {medians['before']['label']}"] if "before" in medians else []
    lines.append(f"  {'':44}" + "".join(f"{c:>16}" for c in columns))
    for name, get, fmt in ROWS:
        lines.append(f"  {name:44}" + "".join(_cell(get(medians[c]), fmt) for c in columns))
    return "\n".join(lines)
