"""What the signal actors tell the rest of the node about the signal source.

`SIGNAL_REJECTIONS_CACHE_KEY`: the `SignalRejections` of the signal actor after each read (JSON bytes): the
rejected entries of the latest read and the running count per fault code, for `dolphin-ctl status` (the
node-control actor copies it into status/node.json).
"""

from __future__ import annotations

import msgspec

SIGNAL_REJECTIONS_CACHE_KEY = "dolphin.signals.rejections"


class CurrentRejection(msgspec.Struct, frozen=True, kw_only=True):
    key: str  # the instrument id the entry was written under; "" for the whole source
    code: str
    reason: str


class SignalRejections(msgspec.Struct, frozen=True, kw_only=True):
    counts: dict[str, int]  # fault code -> rejections reported (each logged once per change)
    current: list[CurrentRejection]  # rejected in the latest read
    updated_ns: int


def encode_signal_rejections(value: SignalRejections) -> bytes:
    return msgspec.json.encode(value)


def decode_signal_rejections(raw: bytes) -> SignalRejections:
    return msgspec.json.decode(raw, type=SignalRejections)
