"""The chaos run's fixed scenario: the venue symbol, the node's namespace and credentials, the targets it is
driven with, the kinds of kill, the node config it runs under, and the figures a run collects.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SYMBOL = "BTC-USDT"
INSTRUMENT = "BTC-USDT-PERP.BINGX"
NAMESPACE = "chaos"
PREFIX = f"d{NAMESPACE}"
DATABASE = f"dolphin_{NAMESPACE}"
SIGNALS_MAP = f"DOLPHIN_SIGNALS_{NAMESPACE.upper()}"
API_KEY = "ChaosKey-3b9d0c"
API_SECRET = "ChaosSecret-71e2aa40c5"
TARGETS = (1.0, -1.0, 0.0, 0.6, -0.6, 0.0)
KILL_KINDS = ("node", "store", "both")
RUN_MARKER = "CHAOS_RUN_DIR"


@dataclass
class ChaosFigures:
    kills: Counter = field(default_factory=Counter)
    restarts: int = 0
    exits: Counter = field(default_factory=Counter)  # exit codes the node ended with by itself
    kill_to_trading_s: list[float] = field(default_factory=list)
    kill_to_order_s: list[float] = field(default_factory=list)
    violations: Counter = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)
    lost_facts: int = 0

    def violate(self, kind: str, detail: str) -> None:
        self.violations[kind] += 1
        if len(self.details) < 50:
            self.details.append(f"{kind}: {detail}")


def hazelcast_section(members: list[str], cluster_name: str) -> str:
    """The node config's [hazelcast] body: the local live-state file, or the given cluster's members."""
    if not members:
        return 'backend = "local"\nlease_ttl_s = 30.0'
    quoted = ", ".join(f'"{a}"' for a in members)
    return f'backend = "cluster"\nmembers = [{quoted}]\ncluster_name = "{cluster_name}"'


def node_config_text(root: Path, hazelcast: str, rest_url: str, ws_market_url: str) -> str:
    """The chaos node's TOML: vst against the emulator, embedded chDB, signals from the live-state backend."""
    return f"""
[node]
environment = "vst"
namespace = "{NAMESPACE}"
state_dir = "{root / "var"}"
log_level = "INFO"

[strategy]
instruments = ["{INSTRUMENT}"]
signal_source = "hazelcast"
poll_interval_s = 0.2
trade_notional_usdt = "250"

[strategy.reference]
enter_above = 0.5
min_hold_bars = 1

[restore]
# The restart-loop breaker (SAFE MODE after restart_max starts in restart_window_s) guards against a supervisor
# restart loop; this run restarts the node on purpose, so the breaker is set out of reach.
restart_max = 1000000

[clickhouse]
backend = "chdb"

[hazelcast]
{hazelcast}

[bingx]
rest_url = "{rest_url}"
ws_market_url = "{ws_market_url}"
"""
