"""msgspec Structs mirroring BingX REST and WebSocket payloads. No Nautilus types."""
