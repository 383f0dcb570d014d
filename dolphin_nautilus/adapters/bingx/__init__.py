"""BingX USDT-M perpetual swap venue I/O, free of Nautilus types (thin Nautilus clients wrap it).

Layout follows Nautilus's own adapters: common/ (enums, credentials, urls), http/ (signed REST client and
endpoint wrappers), websocket/ (market and user streams), schemas/ (msgspec payloads), errors.py,
ratelimit.py, symbols.py, constants.py.
"""

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.common.urls import BingXUrls, urls_for
from dolphin_nautilus.adapters.bingx.constants import BINGX
from dolphin_nautilus.adapters.bingx.errors import BingXError, Operation, VenueOutcome
from dolphin_nautilus.adapters.bingx.ratelimit import BingXRateLimiter
from dolphin_nautilus.adapters.bingx.symbols import to_instrument_id, to_venue_symbol

__all__ = [
    "BINGX",
    "BingXCredentials",
    "BingXError",
    "BingXRateLimiter",
    "BingXUrls",
    "Operation",
    "VenueOutcome",
    "to_instrument_id",
    "to_venue_symbol",
    "urls_for",
]
