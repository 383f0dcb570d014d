"""What a node's stores are, as plain structs: the input of `stores.open_stores` (docs/design.md §4).

The node assembly builds a `StoresSpec` from its TOML config (`node.stores.stores_spec`) and a `StoreSecrets`
from the secrets it read once at start; nothing in the stores, journal or state layers reads the config file or the
environment. Both cross to the store service over its socket, never through argv or a file.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from dolphin_nautilus.journal.settings import JournalConfig, StoreConfig
from dolphin_nautilus.state.hazelcast_config import HazelcastStoreConfig


class LocalStateSpec(msgspec.Struct, frozen=True, kw_only=True, tag="local"):
    path: str  # folder of the file-backed live state


class HazelcastStateSpec(msgspec.Struct, frozen=True, kw_only=True, tag="hazelcast"):
    config: HazelcastStoreConfig
    username: str = ""  # cluster credentials' user name (the password is a secret: StoreSecrets)


class StoresSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    namespace: str
    state_dir: str  # the node's state folder (restore keeps its reports there)
    clickhouse: StoreConfig
    journal: JournalConfig
    live_state: LocalStateSpec | HazelcastStateSpec
    lease_ttl_s: Annotated[float, msgspec.Meta(gt=0)] = 30.0


class StoreSecrets(msgspec.Struct, frozen=True, kw_only=True):
    """The stores' credentials, handed in by whoever read them at start. `repr` never shows them."""

    clickhouse_password: str = ""
    hazelcast_password: str = ""

    def __repr__(self) -> str:
        present = [f for f in self.__struct_fields__ if getattr(self, f)]
        return f"StoreSecrets(present={present})"
