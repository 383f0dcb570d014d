"""The venue-position verdict: may the Nautilus cache's positions be taken as the venue's truth?

An execution client (the BingX one, or any other) records a `VenuePositionsVerdict` under
`VENUE_POSITIONS_VERDICT_CACHE_KEY` after every attempt to ask the venue for its positions (startup
reconciliation, mass status). The restore actor reads it before it trusts the cache. No verdict at all means
nobody vouched for the cache, which is NOT flat ("missing reports do not mean flat").
"""

from __future__ import annotations

import msgspec

VENUE_POSITIONS_VERDICT_CACHE_KEY = "dolphin.venue.positions_verdict"


class VenuePositionsVerdict(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool  # the query succeeded: the cache's open positions are the venue's
    reason: str = ""  # why it failed (empty when ok)
    ts: int = 0


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(VenuePositionsVerdict)


def encode_venue_verdict(verdict: VenuePositionsVerdict) -> bytes:
    return _encoder.encode(verdict)


def decode_venue_verdict(data: bytes) -> VenuePositionsVerdict:
    return _decoder.decode(data)
