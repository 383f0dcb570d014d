"""listenKey registry (docs/reference/bingx_api.md §9.3): keys valid for `ttl_s` from creation or the last extension."""

from __future__ import annotations

import secrets
import time


class ListenKeys:
    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self.expiry: dict[str, float] = {}  # key -> expiry (monotonic seconds)

    def create(self) -> str:
        key = secrets.token_hex(32)
        self.expiry[key] = time.monotonic() + self.ttl_s
        return key

    def valid(self, key: str) -> bool:
        return self.expiry.get(key, 0.0) > time.monotonic()

    def extend(self, key: str) -> bool:
        """False when the key is unknown or already expired (the venue answers 404)."""
        if not self.valid(key):
            return False
        self.expiry[key] = time.monotonic() + self.ttl_s
        return True

    def delete(self, key: str) -> bool:
        return self.expiry.pop(key, None) is not None

    def expire_all(self) -> None:
        self.expiry.update({k: 0.0 for k in self.expiry})
