"""`dolphin-ctl mode-verify`: namespace isolation. No two deployments share a database, a map, a trader id or
a client order id prefix, and no store holds rows or a lease of another namespace.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dolphin_nautilus.config import Config, Secrets, state_dir_for
from dolphin_nautilus.journal.schema import database_name
from dolphin_nautilus.logs import RedactingFilter
from dolphin_nautilus.node.signal_map import signals_map_name
from dolphin_nautilus.node.stores import open_live_state
from dolphin_nautilus.ops.ctl_common import (
    EXIT_ATTENTION,
    EXIT_OK,
    EXIT_STORE,
    CtlError,
    emit_result,
    load_ctl_config,
    open_clickhouse,
)
from dolphin_nautilus.state import lease_map_name, state_map_name
from dolphin_nautilus.state.hazelcast_store import HazelcastStateStore


def identities(config: Config, state_dir: Path) -> dict[str, str]:
    """Everything a namespace owns that another deployment must not share."""
    ch, hz = config.clickhouse, config.hazelcast
    where_ch = str(state_dir / ch.path) if ch.backend == "chdb" else f"{ch.host}:{ch.port}"
    where_hz = str(state_dir / hz.path) if hz.backend == "local" else f"{hz.cluster_name}@{','.join(hz.members)}"
    ns = config.node.namespace
    return {
        "clickhouse database": f"{where_ch}/{database_name(ns)}",
        "hazelcast state map": f"{where_hz}/{state_map_name(ns)}",
        "hazelcast lease map": f"{where_hz}/{lease_map_name(ns)}",
        "hazelcast signals map": f"{where_hz}/{signals_map_name(ns)}",
        "trader id": config.node.trader_id,
        "client order id prefix": config.node.client_order_prefix,
    }


def collisions(configs: list[Config]) -> list[str]:
    found = []
    ids = [(c, identities(c, state_dir_for(c))) for c in configs]
    for i, (a, ida) in enumerate(ids):
        for b, idb in ids[i + 1 :]:
            for what, value in ida.items():
                other = idb[what]
                clash = value == other or (
                    what == "client order id prefix" and (value.startswith(other) or other.startswith(value))
                )
                if clash:
                    found.append(f"{what} collides: {a.source} ({value}) and {b.source} ({other})")
    return found


def live_state_violations(config: Config, state_dir: Path, secrets: Secrets) -> tuple[list[str], list[str]]:
    """Check the namespace's maps on the live Hazelcast cluster: its lease and its heartbeat must come from a
    node of this namespace (node ids are `<trader id>@host:pid`). Returns (violations, the cluster's
    DOLPHIN_* maps). Raises when the cluster cannot be read."""

    ns, trader = config.node.namespace, config.node.trader_id
    live = open_live_state(config, state_dir, secrets)
    try:
        if not isinstance(live, HazelcastStateStore):
            raise TypeError(f"{config.source}: [hazelcast] backend is not a cluster")
        holder, heartbeat = live.lease_holder(), live.get("heartbeat") or {}
        maps = sorted(n for n in live.cluster_map_names() if n.startswith("DOLPHIN_"))
    finally:
        live.close()
    found = []
    if holder is not None and not holder.startswith(f"{trader}@"):
        found.append(f"lease of {live.lease_map_name} is held by {holder!r}, not by a node of {ns!r} ({trader})")
    writer = heartbeat.get("node_id")
    if writer is not None and not str(writer).startswith(f"{trader}@"):
        found.append(
            f"heartbeat in {live.state_map_name} was written by {writer!r}, not by a node of {ns!r} ({trader})"
        )
    return found, maps


def cmd_mode_verify(args: argparse.Namespace, redactor: RedactingFilter) -> int:

    configs = [load_ctl_config(path) for path in args.config]
    violations = collisions(configs)
    unchecked: list[str] = []
    checked: list[str] = []
    for config in configs:
        if args.skip_stores:
            break
        state_dir = state_dir_for(config)
        try:
            store = open_clickhouse(config, state_dir, args.secrets)
        except CtlError as exc:
            unchecked.append(f"{config.source}: {exc}")
            continue
        try:
            rows = store.foreign_namespace_rows(limit=20)
        except Exception as exc:  # noqa: BLE001 - a database without our tables: nothing foreign in it
            unchecked.append(f"{config.source}: database {store.database} unreadable: {type(exc).__name__}: {exc}")
            continue
        finally:
            store.close()
        checked.append(store.database)
        for row in rows:
            violations.append(
                f"foreign namespace row in {store.database}.{row['table']}: namespace "
                f"{row['namespace']!r} (row_id {row['row_id']}) in the database of "
                f"{config.node.namespace!r} ({config.source})"
            )
    cluster_maps: dict[str, list[str]] = {}
    for config in configs:
        if args.skip_stores or config.hazelcast.backend != "cluster":
            continue
        where = f"{config.hazelcast.cluster_name}@{','.join(config.hazelcast.members)}"
        try:
            found, cluster_maps[where] = live_state_violations(config, state_dir_for(config), args.secrets)
        except Exception as exc:  # noqa: BLE001 - an unreadable cluster is reported, not a crash
            unchecked.append(f"{config.source}: Hazelcast {where} unreadable: {type(exc).__name__}: {exc}")
            continue
        checked.append(f"{where}/{state_map_name(config.node.namespace)}")
        violations += [f"{v} ({config.source})" for v in found]
    result = {
        "configs": [c.source for c in configs],
        "violations": violations,
        "databases_checked": checked,
        "unchecked": unchecked,
        "cluster_maps": cluster_maps,
    }
    human = "\n".join(
        [
            f"mode-verify: {len(configs)} config(s), databases checked: {', '.join(checked) or 'none'}",
            *(f"maps on {where}: {', '.join(names) or 'none'}" for where, names in cluster_maps.items()),
            *(f"VIOLATION: {v}" for v in violations),
            *(f"NOT CHECKED: {u}" for u in unchecked),
            "OK: namespaces are isolated" if not violations and not unchecked else "",
        ]
    ).rstrip()
    emit_result(result, human, args.json, redactor)
    if violations:
        return EXIT_ATTENTION
    return EXIT_STORE if unchecked else EXIT_OK
