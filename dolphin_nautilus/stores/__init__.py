"""A node's stores and their one owner: the store service (docs/design.md §4).

The layer just above the journal and the live state (`journal`, `state`: independent of each other), below
the components and the node assembly. The entry point:

    from dolphin_nautilus.stores import open_stores, StoresSpec, StoreSecrets
    stores = open_stores(spec, secrets, node_id=..., mode="process")   # or mode="inline"

`spec`: what to open (plain structs, `stores.spec`); `secrets`: what the caller read once at start.
Modules: `spec` (input structs), `owner` (StoreOwner: every store write, the lease and its single renewer),
`service` (the child process serving an owner), `wire` (the typed protocol), `service_client` (the child as
the trading process sees it), `remote` (Journal, readers and live state by proxy), `wiring` (open_stores).
"""

from dolphin_nautilus.stores.spec import HazelcastStateSpec, LocalStateSpec, StoreSecrets, StoresSpec
from dolphin_nautilus.stores.wiring import SPILL_DIR, Stores, StoresMode, default_node_id, open_stores

__all__ = [
    "SPILL_DIR",
    "HazelcastStateSpec",
    "LocalStateSpec",
    "StoreSecrets",
    "Stores",
    "StoresMode",
    "StoresSpec",
    "default_node_id",
    "open_stores",
]
