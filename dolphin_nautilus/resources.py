"""The process-level registry of what a node's components need beyond their Nautilus config.

The strategy and the actors are built by Nautilus from importable configs (plain values only), so live objects
(the open stores, the signal map, in-process fact observers) cannot reach their constructors. The node
assembly opens them and registers them here under the node's namespace; each component looks them up on
start by the `namespace` its config names. Instrument specs are not registered: components take them from the
Nautilus cache's instruments (`spec_of_instrument`).

Nautilus-free: it reads an instrument by attribute names only.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dolphin_nautilus.domain.instruments import InstrumentSpec


class NodeResources:
    """What the components of one node share: its stores (journal, ClickHouse reader, live state), the fact
    sink the journal actor hands facts to (the stores' journal unless given), the live signal map, and extra
    in-process fact observers (the backtest's run summary)."""

    def __init__(
        self,
        *,
        stores: Any = None,
        fact_sink: Any = None,
        signal_map: Any = None,
        fact_observers: tuple[Callable[[Any], None], ...] = (),
    ) -> None:
        self.stores = stores
        self.fact_sink = fact_sink if fact_sink is not None else getattr(stores, "journal", None)
        self.signal_map = signal_map
        self.fact_observers = fact_observers


_REGISTRY: dict[str, NodeResources] = {}


class ResourcesMissing(LookupError):
    """A component started for a namespace whose resources the assembly did not register."""


def register_resources(namespace: str, resources: NodeResources) -> None:
    """One node per namespace per process: registering over a live entry is a wiring bug, said loudly."""
    if namespace in _REGISTRY and _REGISTRY[namespace] is not resources:
        raise ValueError(f"resources of namespace '{namespace}' are already registered in this process")
    _REGISTRY[namespace] = resources


def unregister_resources(namespace: str) -> None:
    _REGISTRY.pop(namespace, None)


def resources_for(namespace: str) -> NodeResources:
    try:
        return _REGISTRY[namespace]
    except KeyError:
        raise ResourcesMissing(
            f"no node resources registered for namespace '{namespace}' (build the node "
            "through dolphin_nautilus.node.assembly)"
        ) from None


def spec_of_instrument(instrument: Any) -> InstrumentSpec:
    """Our InstrumentSpec from a Nautilus instrument (precisions, increments, venue minimums, fees)."""
    size_increment = instrument.size_increment.as_decimal()
    return InstrumentSpec(
        instrument_id=str(instrument.id),
        price_precision=instrument.price_precision,
        size_precision=instrument.size_precision,
        price_increment=instrument.price_increment.as_decimal(),
        size_increment=size_increment,
        min_quantity=instrument.min_quantity.as_decimal() if instrument.min_quantity else size_increment,
        min_notional=instrument.min_notional.as_decimal() if instrument.min_notional else Decimal(0),
        maker_fee=Decimal(instrument.maker_fee),
        taker_fee=Decimal(instrument.taker_fee),
    )
