"""Signed BingX REST client on aiohttp (docs/reference/bingx_api.md §2, docs/reference/bingx_api.md §3).

Signing: all params (plus `timestamp`, `recvWindow`) sorted a-z, joined as `k=v&...` from the *unencoded*
values, HMAC-SHA256 with the secret, lowercase hex; everything goes in the query string (URL-encoded
values) with `&signature=` appended, empty body, header `X-BX-APIKEY`. This is what the official demo and
CCXT do, and it sidesteps the body-encoding ambiguity of docs/reference/bingx_api.md §2.2.

Server time (docs/reference/bingx_api.md §2.3): the venue refuses a signed request whose `timestamp` is more than
`recvWindow` off
its own clock (100421). The client measures the offset (server - local) before its first signed request and
again every `time_sync_interval_s`, signs with local time + offset, and on a 100421 answer measures again and
sends the request once more (the venue checked the timestamp before acting, so nothing happened).

Every failure becomes a `BingXError` subclass with an outcome class (errors.py). Nothing here logs or
raises the params, the signature or the secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, overload
from urllib.parse import quote

import aiohttp
import msgspec
from yarl import URL

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.constants import (
    DEFAULT_RECV_WINDOW_MS,
    DEFAULT_TIME_SYNC_INTERVAL_S,
    MAX_RECV_WINDOW_MS,
)
from dolphin_nautilus.adapters.bingx.errors import (
    RATE_LIMIT_CODES,
    TIMESTAMP_SKEW_CODE,
    BingXError,
    ErrorKind,
    Operation,
    error_from_code,
    kind_of_http_status,
    make_error,
)
from dolphin_nautilus.adapters.bingx.ratelimit import BingXRateLimiter
from dolphin_nautilus.adapters.bingx.schemas.common import ENVELOPE_DECODER, decoder, fmt_decimal
from dolphin_nautilus.domain.diagnostics import Code
from dolphin_nautilus.logs import log_event, node_logger

log = node_logger("bingx.http")

_SERVER_TIME_PATH = "/openApi/swap/v2/server/time"

Params = Mapping[str, Any]


def param_value(value: Any) -> str:
    """The exact text a param is signed and sent as."""
    kind = type(value)
    if kind is str:  # the common case first: symbols, ids
        return value
    if kind is int:  # timestamps, recvWindow (not bool: its type is bool)
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return fmt_decimal(value)
    if isinstance(value, float):
        raise TypeError("pass prices/quantities as Decimal, not float")
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def signing_payload(params: Params) -> str:
    """`k=v&...` sorted a-z over unencoded values: the string the HMAC covers."""
    return query_texts(params)[0]


def encoded_query(params: Params) -> str:
    """The same params as sent: sorted, each value percent-encoded (keys are plain ASCII)."""
    return query_texts(params)[1]


# What quote(text, safe="") leaves alone: a value made only of these is sent as it is signed.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def query_texts(params: Params) -> tuple[str, str]:
    """(signing payload, encoded query) in one pass: one sort, each value rendered once, percent-encoded only
    when it has a character that needs it (the hot path of every signed request: usually none has)."""
    keys = sorted(params)
    texts = [value if type(value) is str else param_value(value) for value in map(params.__getitem__, keys)]
    plain = "&".join([f"{key}={text}" for key, text in zip(keys, texts, strict=True)])
    if _UNRESERVED.issuperset("".join(texts)):
        return plain, plain
    encoded = [
        f"{key}={text}" if _UNRESERVED.issuperset(text) else f"{key}={quote(text, safe='')}"
        for key, text in zip(keys, texts, strict=True)
    ]
    return plain, "&".join(encoded)


class HttpResult(msgspec.Struct, frozen=True):
    status: int
    headers: Mapping[str, str]  # aiohttp's case-insensitive view, not copied
    body: bytes


class BingXHttpClient:
    """One instance per (base URL, key). Safe to share between the data and execution clients."""

    def __init__(
        self,
        base_url: str,
        credentials: BingXCredentials | None = None,
        *,
        rate_limiter: BingXRateLimiter | None = None,
        recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
        time_sync_interval_s: float = DEFAULT_TIME_SYNC_INTERVAL_S,
    ) -> None:
        if not 0 < recv_window_ms <= MAX_RECV_WINDOW_MS:
            raise ValueError(f"recv_window_ms must be in (0, {MAX_RECV_WINDOW_MS}], got {recv_window_ms}")
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._auth_headers = {"X-BX-APIKEY": credentials.api_key} if credentials else {}  # sent as is, never mutated
        self.rate_limiter = rate_limiter or BingXRateLimiter()
        self.recv_window_ms = recv_window_ms
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=connect_timeout_s)
        self._clock_ms = clock_ms
        self.time_offset_ms = 0  # server - local, set by sync_time()
        self.time_sync_interval_s = time_sync_interval_s  # <= 0: only before the first signed request and on 100421
        self.time_syncs = 0  # completed measurements (observable by tests)
        self._synced_at: float | None = None  # time.monotonic() of the last measurement
        self._sync_lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"BingXHttpClient(base_url={self.base_url!r}, credentials={self._credentials!r})"

    @property
    def credentials(self) -> BingXCredentials | None:
        return self._credentials

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> BingXHttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- public API ------------------------------------------------------------------------------

    @overload
    async def call[T](
        self,
        method: str,
        path: str,
        params: Params | None,
        result_type: type[T],
        *,
        signed: bool = True,
        operation: Operation = Operation.READ,
    ) -> T: ...

    @overload
    async def call(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        signed: bool = True,
        operation: Operation = Operation.READ,
    ) -> Any: ...

    async def call(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        result_type: Any = Any,
        *,
        signed: bool = True,
        operation: Operation = Operation.READ,
    ) -> Any:
        """Send, check the envelope, decode `data` as `result_type` (untyped JSON without one). Raises
        BingXError subclasses."""
        _, data = await self._send_checked(method, path, params, signed=signed, operation=operation)
        return self._decode(data, result_type, method, path, operation)

    async def call_top_level[T](
        self, method: str, path: str, params: Params | None, result_type: type[T], *, signed: bool, operation: Operation
    ) -> T:
        """For endpoints whose payload is the whole body (envelope code still checked when present)."""
        result, _ = await self._send_checked(method, path, params, signed=signed, operation=operation)
        return self._decode(result.body, result_type, method, path, operation)

    async def _send_checked(
        self, method: str, path: str, params: Params | None, *, signed: bool, operation: Operation
    ) -> tuple[HttpResult, bytes]:
        """`send` + the envelope check (the result and its `data`); a timestamp refusal (100421) re-measures
        server time and sends once more."""
        result = await self.send(method, path, params, signed=signed, operation=operation)
        try:
            return result, self._unwrap(result, method, path, signed, operation)
        except BingXError as exc:
            if not (signed and is_timestamp_skew(exc)):
                raise
            offset_before = self.time_offset_ms
            await self.sync_time()
            log_event(
                log,
                logging.WARNING,
                "clock_skew",
                f"{method} {path} refused for its timestamp (100421): "
                f"server time re-measured (offset {offset_before} -> {self.time_offset_ms} ms), sent once more",
                code=Code.VENUE_CLOCK_SKEW,
            )
            result = await self.send(method, path, params, signed=signed, operation=operation)
            return result, self._unwrap(result, method, path, signed, operation)

    async def send(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        signed: bool = True,
        operation: Operation = Operation.READ,
    ) -> HttpResult:
        """Rate-limit, sign, send. Returns the raw result for 2xx-4xx answers that are not rate limits;
        raises for transport failures, 429/418 and 5xx."""
        method = method.upper()
        if signed and self._time_sync_due():
            await self._ensure_time_synced()
        await self.rate_limiter.acquire(method, path, signed=signed, operation=operation)
        url, headers = self._prepare(params or {}, path, signed)
        try:
            async with self.session.request(method, url, headers=headers) as resp:
                result = HttpResult(resp.status, resp.headers, await resp.read())
        except aiohttp.ConnectionTimeoutError as exc:
            raise self._transport_error(exc, f"{method} {path}", operation, sent=False) from None
        except aiohttp.ClientConnectorError as exc:
            raise self._transport_error(exc, f"{method} {path}", operation, sent=False) from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            # The request left; the venue may have acted on it (docs/reference/bingx_api.md §7.1: 504,
            # docs/reference/bingx_api.md §11.18).
            raise self._transport_error(exc, f"{method} {path}", operation, sent=True) from None
        log.debug("BingX %s %s -> HTTP %d", method, path, result.status)
        self.rate_limiter.observe_headers(method, path, result.headers, signed=signed)
        self._raise_for_http_status(result, method, path, signed, operation)
        return result

    async def sync_time(self) -> int:
        """Measure server - local clock offset (docs/reference/bingx_api.md §2.3; a skew gives 100421). Returns the
        offset in ms."""
        before = self._clock_ms()
        data = await self.call("GET", _SERVER_TIME_PATH, None, dict, signed=False)
        after = self._clock_ms()
        self.time_offset_ms = int(data["serverTime"]) - (before + after) // 2
        self._synced_at = time.monotonic()
        self.time_syncs += 1
        if abs(self.time_offset_ms) > self.recv_window_ms // 2:
            log_event(
                log,
                logging.WARNING,
                "clock_skew",
                f"this host's clock is {self.time_offset_ms} ms off BingX "
                f"server time (recvWindow {self.recv_window_ms} ms); signing with the measured offset",
                code=Code.VENUE_CLOCK_SKEW,
                offset_ms=self.time_offset_ms,
            )
        return self.time_offset_ms

    async def _ensure_time_synced(self) -> None:
        """Measure before the first signed request and when the last measurement is older than the interval.
        A failed periodic measurement keeps the last offset (the request itself says whether it still fits)."""
        if not self._time_sync_due():
            return
        async with self._sync_lock:
            if not self._time_sync_due():  # another request measured while this one waited
                return
            try:
                await self.sync_time()
            except BingXError as exc:
                if self._synced_at is None:
                    raise
                self._synced_at = time.monotonic()  # retry at the next interval, not on every request
                log_event(
                    log,
                    logging.WARNING,
                    "time_sync_failed",
                    f"server time not re-measured ({exc}); keeping offset {self.time_offset_ms} ms",
                    code=Code.VENUE_CLOCK_SKEW,
                )

    def _time_sync_due(self) -> bool:
        if self._synced_at is None:
            return True
        return 0 < self.time_sync_interval_s <= time.monotonic() - self._synced_at

    # ---- internals -------------------------------------------------------------------------------

    def _prepare(self, params: Params, path: str, signed: bool) -> tuple[URL, dict[str, str]]:
        clean = {k: v for k, v in params.items() if v is not None} if None in params.values() else dict(params)
        if signed:
            if self._credentials is None:
                raise ValueError(f"{path} needs API credentials (set BINGX_API_KEY / BINGX_API_SECRET)")
            clean["timestamp"] = self._clock_ms() + self.time_offset_ms
            clean.setdefault("recvWindow", self.recv_window_ms)
            plain, encoded = query_texts(clean)
            query = encoded + "&signature=" + self._credentials.sign(plain)
            headers = self._auth_headers
        else:
            query = query_texts(clean)[1]
            headers = {}
        text = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        return URL(text, encoded=True), headers

    def _redact(self, text: str) -> str:
        return self._credentials.redact(text) if self._credentials else text

    def _transport_error(self, exc: BaseException, endpoint: str, operation: Operation, *, sent: bool) -> BingXError:
        what = type(exc).__name__
        return make_error(
            kind=ErrorKind.BUSY,
            operation=operation,
            code=None,
            msg=f"transport failure ({what}){' after sending' if sent else ' before sending'}",
            endpoint=endpoint,
            sent=sent,
        )

    def _raise_for_http_status(self, result: HttpResult, method: str, path: str, signed: bool, op: Operation) -> None:
        kind = kind_of_http_status(result.status)
        if kind is None:
            return
        endpoint = f"{method} {path}"
        if kind is ErrorKind.RATE_LIMIT:
            code = _body_code(result.body)
            # A per-UID code (100410/109429) limits this endpoint; a bare 429 or a 418 ban is IP-wide.
            ip_wide = result.status == 418 or code not in RATE_LIMIT_CODES
            wait = self.rate_limiter.expire_wait_ms(result.headers)
            used = self.rate_limiter.cooldown(method, path, signed=signed, retry_after_ms=wait, ip_wide=ip_wide)
            raise make_error(
                kind=kind,
                operation=op,
                code=code,
                msg=f"HTTP {result.status} rate limited",
                endpoint=endpoint,
                http_status=result.status,
                retry_after_ms=used,
            )
        if kind is ErrorKind.BUSY:
            raise make_error(
                kind=kind,
                operation=op,
                code=None,
                msg=f"HTTP {result.status} from venue",
                endpoint=endpoint,
                http_status=result.status,
            )
        # 4xx other than rate limits: let the body's code speak if there is one.

    def _unwrap(self, result: HttpResult, method: str, path: str, signed: bool, op: Operation) -> bytes:
        endpoint = f"{method} {path}"
        try:
            env = ENVELOPE_DECODER.decode(result.body)
        except (msgspec.DecodeError, ValueError):
            if result.status >= 400:
                raise make_error(
                    kind=kind_of_http_status(result.status) or ErrorKind.REJECT,
                    operation=op,
                    code=None,
                    msg=f"HTTP {result.status}",
                    endpoint=endpoint,
                    http_status=result.status,
                ) from None
            raise self._decode_error(endpoint, op, "response is not a JSON object") from None
        if env.code != 0:
            msg = self._redact(env.msg)
            retry_after = None
            if kind_of_http_status(result.status) is None and env.code in RATE_LIMIT_CODES:
                wait = self.rate_limiter.expire_wait_ms(result.headers)
                retry_after = self.rate_limiter.cooldown(method, path, signed=signed, retry_after_ms=wait)
            raise error_from_code(
                env.code, msg, op, endpoint=endpoint, http_status=result.status, retry_after_ms=retry_after
            )
        if result.status >= 400:
            raise make_error(
                kind=kind_of_http_status(result.status) or ErrorKind.REJECT,
                operation=op,
                code=None,
                msg=f"HTTP {result.status}",
                endpoint=endpoint,
                http_status=result.status,
            )
        return bytes(env.data)

    def _decode(self, data: bytes, result_type: Any, method: str, path: str, op: Operation) -> Any:
        if result_type is Any:
            return msgspec.json.decode(data)
        try:
            return _decoder_for(result_type).decode(data)
        except (msgspec.DecodeError, ValueError, TypeError) as exc:
            raise self._decode_error(f"{method} {path}", op, f"unexpected payload: {exc}") from None

    def _decode_error(self, endpoint: str, op: Operation, why: str) -> BingXError:
        # HTTP 200 we cannot read: for a write the venue may have acted, so the outcome is unknown.
        return make_error(kind=ErrorKind.IN_FLIGHT, operation=op, code=None, msg=self._redact(why), endpoint=endpoint)


def is_timestamp_skew(exc: BingXError) -> bool:
    """100421 in its clock meaning (kind AUTH; its "pair restricted" meaning is a plain reject)."""
    return exc.code == TIMESTAMP_SKEW_CODE and exc.kind is ErrorKind.AUTH


def _body_code(body: bytes) -> int | None:
    try:
        return ENVELOPE_DECODER.decode(body).code or None
    except (msgspec.DecodeError, ValueError):
        return None


_DECODERS: dict[Any, msgspec.json.Decoder] = {}


def _decoder_for(tp: Any) -> msgspec.json.Decoder:
    dec = _DECODERS.get(tp)
    if dec is None:
        dec = _DECODERS[tp] = decoder(tp)
    return dec
