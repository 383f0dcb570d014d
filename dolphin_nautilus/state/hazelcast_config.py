"""The Hazelcast live-state store's settings, apart from its client: a process that only configures the store
(the trading process, whose stores run in the store service) does not load the Hazelcast client."""

from __future__ import annotations

import msgspec


class HazelcastStoreConfig(msgspec.Struct, frozen=True, kw_only=True):
    cluster_members: list[str]
    cluster_name: str = "dev"
    connect_timeout_s: float = 10.0  # bound on the first connection; reconnects retry forever
    op_timeout_s: float = 5.0  # bound on every call to the member
    retry_initial_backoff_s: float = 0.2
    retry_max_backoff_s: float = 2.0
    retry_interval_s: float = 1.0  # how often pending writes are retried while the member is away
    smart_routing: bool = True
