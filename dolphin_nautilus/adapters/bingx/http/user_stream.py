"""listenKey lifecycle (docs/reference/bingx_api.md §9.3). Not enveloped: POST -> {"listenKey": ...}; PUT/DELETE signal
by status."""

from __future__ import annotations

from dolphin_nautilus.adapters.bingx.errors import ErrorKind, Operation, make_error
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.schemas.account import BingXListenKey

_PATH = "/openApi/user/auth/userDataStream"


class ListenKeyNotFoundError(Exception):
    """PUT/DELETE answered 404: the key expired or never existed; create a new one."""


class BingXUserStreamHttpAPI:
    def __init__(self, client: BingXHttpClient) -> None:
        self.client = client

    async def create_listen_key(self) -> str:
        data = await self.client.call_top_level(
            "POST", _PATH, None, BingXListenKey, signed=True, operation=Operation.WRITE
        )
        if not data.listen_key:
            raise make_error(
                kind=ErrorKind.REJECT,
                operation=Operation.WRITE,
                code=None,
                msg="empty listenKey",
                endpoint=f"POST {_PATH}",
            )
        return data.listen_key

    async def extend_listen_key(self, listen_key: str) -> None:
        """Extend to 60 min from now. Raises ListenKeyNotFoundError on 404 (expired)."""
        await self._keyed("PUT", listen_key)

    async def delete_listen_key(self, listen_key: str) -> None:
        await self._keyed("DELETE", listen_key)

    async def _keyed(self, method: str, listen_key: str) -> None:
        result = await self.client.send(
            method, _PATH, {"listenKey": listen_key}, signed=True, operation=Operation.WRITE
        )
        if result.status == 404:
            raise ListenKeyNotFoundError(f"{method} {_PATH}: listenKey not found (expired?)")
        if result.status >= 400:
            raise make_error(
                kind=ErrorKind.REJECT,
                operation=Operation.WRITE,
                code=None,
                msg=f"HTTP {result.status}",
                endpoint=f"{method} {_PATH}",
                http_status=result.status,
            )
