"""The venue-position verdict: may the Nautilus cache's positions be taken as the venue's truth?

An execution client (the BingX one, or any other) records a `VenuePositionsVerdict` under
`VENUE_POSITIONS_VERDICT_CACHE_KEY` after every attempt to ask the venue for its positions (startup
reconciliation, mass status). The restore actor reads it before it trusts the cache. No verdict at all means
nobody vouched for the cache, which is NOT flat ("missing reports do not mean flat").

A `VenueRefusal` under `VENUE_REFUSAL_CACHE_KEY` says why a client could not connect when a restart cannot fix
it (credentials, hedge mode, an untradable instrument).
"""

from __future__ import annotations

from typing import Literal

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


# ---- start-up refusals: what a client learned on connect that no restart can fix ----------------------------
VENUE_REFUSAL_CACHE_KEY = "dolphin.venue.refusal"

RefusalReason = Literal["credentials", "account_mode", "instruments"]


class VenueRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """Recorded by a venue client whose connect failed for a reason a restart cannot fix (the venue refused the
    credentials, the account's position mode, or an instrument). Nautilus logs and swallows a connect failure;
    the launcher reads this key to end start-up at once with the matching exit code."""

    reason: RefusalReason
    code: str  # the domain fault code (diagnostics.Code value)
    message: str  # what is wrong and what to do
    venue_code: int | None = None
    ts: int = 0


_refusal_decoder = msgspec.msgpack.Decoder(VenueRefusal)


def encode_venue_refusal(refusal: VenueRefusal) -> bytes:
    return _encoder.encode(refusal)


def decode_venue_refusal(data: bytes) -> VenueRefusal:
    return _refusal_decoder.decode(data)
