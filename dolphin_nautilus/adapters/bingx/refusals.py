"""Which connect failures no restart can fix, as the typed `contracts.venue.VenueRefusal` the launcher reads.

The venue refusing the credentials (any AUTH-class code but the clock's 100421, which the HTTP client heals by
re-measuring server time), an account in hedge mode, and an instrument the venue does not list as a tradable
perpetual are facts about the account or the config: restarting the node changes none of them. Anything else
(transport, busy, rate limits) may pass, so it is not a refusal and the supervisor's restart policy applies.
"""

from __future__ import annotations

import logging
from typing import Any

from dolphin_nautilus.adapters.bingx.errors import TIMESTAMP_SKEW_CODE, BingXError, BingXHedgeModeError, ErrorKind
from dolphin_nautilus.contracts.venue import VENUE_REFUSAL_CACHE_KEY, VenueRefusal, encode_venue_refusal
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.connect")


class BingXInstrumentNotTradableError(ValueError):
    """A configured instrument is not a tradable USDT-M perpetual at BingX (unknown, offline, suspended)."""

    def __init__(self, symbols: list[str]) -> None:
        self.symbols = symbols
        super().__init__(f"BingX has no tradable perpetual for {symbols}")


def venue_refusal(exc: BaseException, ts: int = 0) -> VenueRefusal | None:
    """The refusal `exc` stands for, or None when a restart might help."""
    if isinstance(exc, BingXHedgeModeError):
        return VenueRefusal(
            reason="account_mode",
            code=Code.VENUE_HEDGE_MODE.value,
            ts=ts,
            message=(
                f"the BingX account is in hedge (dual-side) position mode; dolphin trades one-way only. Switch the "
                f"account to one-way in BingX (no open positions or orders), or set bingx.switch_to_one_way = true "
                f"({exc.endpoint})"
            ),
        )
    if isinstance(exc, BingXInstrumentNotTradableError):
        return VenueRefusal(
            reason="instruments",
            code=Code.INSTRUMENT_NOT_TRADABLE.value,
            ts=ts,
            message=(f"BingX lists no tradable perpetual for {exc.symbols}; fix strategy.instruments"),
        )
    if isinstance(exc, BingXError) and exc.kind is ErrorKind.AUTH and exc.code != TIMESTAMP_SKEW_CODE:
        return VenueRefusal(
            reason="credentials",
            code=Code.VENUE_CREDENTIALS_REFUSED.value,
            ts=ts,
            venue_code=exc.code,
            message=(
                f"BingX refused the API credentials: {exc.msg or exc.kind.value} (venue code {exc.code}, "
                f"{exc.endpoint}). Check BINGX_API_KEY / BINGX_API_SECRET for this environment (vst and live keys "
                f"differ), the key's permissions (perpetual futures trading) and its IP whitelist"
            ),
        )
    return None


def record_refusal(cache: Any, exc: BaseException, ts: int, client: str) -> VenueRefusal | None:
    """Put the refusal `exc` stands for (if any) in the Nautilus cache for the launcher, and log it."""
    refusal = venue_refusal(exc, ts)
    if refusal is not None:
        cache.add(VENUE_REFUSAL_CACHE_KEY, encode_venue_refusal(refusal))
        log_event(
            log,
            logging.ERROR,
            "connect_refused",
            f"{client} cannot connect: {refusal.message}",
            code=refusal.code,
            venue_code=refusal.venue_code,
        )
    return refusal
