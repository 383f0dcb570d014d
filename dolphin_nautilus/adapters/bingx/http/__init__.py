"""Signed REST client and endpoint wrappers."""

from dolphin_nautilus.adapters.bingx.http.account import BingXAccountHttpAPI
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.market import BingXMarketHttpAPI
from dolphin_nautilus.adapters.bingx.http.trade import BingXTradeHttpAPI, normalize_client_order_id
from dolphin_nautilus.adapters.bingx.http.user_stream import BingXUserStreamHttpAPI, ListenKeyNotFoundError

__all__ = [
    "BingXAccountHttpAPI",
    "BingXHttpClient",
    "BingXMarketHttpAPI",
    "BingXTradeHttpAPI",
    "BingXUserStreamHttpAPI",
    "ListenKeyNotFoundError",
    "normalize_client_order_id",
]
