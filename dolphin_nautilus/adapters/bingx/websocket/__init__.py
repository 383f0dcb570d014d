"""BingX WebSocket clients: market stream and user data stream."""

from dolphin_nautilus.adapters.bingx.websocket.client import WsStats
from dolphin_nautilus.adapters.bingx.websocket.market import BingXMarketStreamClient, BingXSubscriptionError
from dolphin_nautilus.adapters.bingx.websocket.user import BingXUserStreamClient

__all__ = ["BingXMarketStreamClient", "BingXSubscriptionError", "BingXUserStreamClient", "WsStats"]
