"""The typed order-placement outcome contract between an execution client and the strategy.

An execution client publishes one `PlacementOutcome` per client order id on `PLACEMENT_OUTCOME_TOPIC` whenever
the venue's answer is more than "accepted/filled" can say: the strategy (and the book behind it) act on the
kind, never on a reason string. The Nautilus order events still flow as usual; this message tells what they
cannot (was anything placed? may it be retried, and when?).

Kinds:
- `PlacementAccepted`: the venue holds the order (`venue_order_id`).
- `PlacementRejected`: definitively refused; nothing is at the venue. `venue_code` when the venue gave one.
- `PlacementRateLimited`: nothing was placed (checked by client order id); retry after `retry_after_ms`.
- `PlacementUnknown`: maybe placed; the client is resolving it by querying the client order id.
- `PlacementResolved`: the end of an unknown: `placed` True (with the venue's order id) or False.
"""

from __future__ import annotations

import msgspec

PLACEMENT_OUTCOME_TOPIC = "dolphin.placement.outcome"


class PlacementAccepted(msgspec.Struct, frozen=True, tag="accepted"):
    client_order_id: str
    venue_order_id: str
    ts: int


class PlacementRejected(msgspec.Struct, frozen=True, tag="rejected"):
    client_order_id: str
    message: str
    ts: int
    venue_code: int | None = None


class PlacementRateLimited(msgspec.Struct, frozen=True, tag="rate_limited"):
    client_order_id: str
    retry_after_ms: int
    message: str
    ts: int
    venue_code: int | None = None


class PlacementUnknown(msgspec.Struct, frozen=True, tag="unknown"):
    client_order_id: str
    message: str
    ts: int


class PlacementResolved(msgspec.Struct, frozen=True, tag="resolved"):
    client_order_id: str
    placed: bool
    ts: int
    venue_order_id: str | None = None


PlacementOutcome = PlacementAccepted | PlacementRejected | PlacementRateLimited | PlacementUnknown | PlacementResolved

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(PlacementOutcome)


def encode_placement_outcome(outcome: PlacementOutcome) -> bytes:
    return _encoder.encode(outcome)


def decode_placement_outcome(data: bytes) -> PlacementOutcome:
    return _decoder.decode(data)
