"""The live signal map a node reads, against a real Hazelcast member: what the external model writes arrives."""

from __future__ import annotations

import json

from dolphin_nautilus.node.signal_map import HazelcastSignalMap, signals_map_name


def test_signal_map_reads_the_models_entries_per_namespace(hazelcast_member):
    model = hazelcast_member.client()
    try:
        model.get_map(signals_map_name("blue")).blocking().put_all(
            {
                "BTC-USDT-PERP.BINGX": json.dumps({"target": 1.0, "strength": 0.5, "ts": 1}),
                "ETH-USDT-PERP.BINGX": json.dumps({"target": -1.0, "strength": 1.0, "ts": 2}),
            }
        )
        model.get_map(signals_map_name("pink")).blocking().put("BTC-USDT-PERP.BINGX", json.dumps({"target": 0}))
    finally:
        model.shutdown()
    signals = HazelcastSignalMap(hazelcast_member.addresses, hazelcast_member.cluster_name, "blue")
    try:
        assert signals.entries() == {
            "BTC-USDT-PERP.BINGX": {"target": 1.0, "strength": 0.5, "ts": 1},
            "ETH-USDT-PERP.BINGX": {"target": -1.0, "strength": 1.0, "ts": 2},
        }
    finally:
        signals.close()
    assert hazelcast_member.map_names() == {"DOLPHIN_SIGNALS_BLUE", "DOLPHIN_SIGNALS_PINK"}
