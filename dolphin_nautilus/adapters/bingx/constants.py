"""BingX venue constants (plain strings: the Nautilus wrappers build Venue/ClientId from them)."""

from __future__ import annotations

BINGX = "BINGX"
PERP_SUFFIX = "-PERP"

# Signed requests are accepted within this window of server time (docs/reference/bingx_api.md §2.3: default 5000, max
# 60000).
DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
# The server-time offset is measured before the first signed request and again this often (a 100421 answer
# re-measures at once): clocks drift by milliseconds per hour, far inside the window.
DEFAULT_TIME_SYNC_INTERVAL_S = 300.0

# clientOrderId: 1-40 chars, lowercased by the server (docs/reference/bingx_api.md §3.3).
CLIENT_ORDER_ID_MAX_LEN = 40

# listenKey lives 60 min; extending every 30 min leaves a full half-life of slack (docs/reference/bingx_api.md §9.3).
LISTEN_KEY_TTL_S = 3_600
LISTEN_KEY_KEEPALIVE_S = 1_800

# Depth REST `limit` must be one of these (docs/reference/bingx_api.md §4.3; limit=1 fails).
DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
KLINE_INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w", "1M")
KLINE_MAX_LIMIT = 1440

# WebSocket: at most 200 topics per connection (else 80403).
WS_MAX_TOPICS_PER_CONNECTION = 200
