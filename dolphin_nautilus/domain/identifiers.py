"""Trade ids and client order ids: deterministic, short, lowercase, inside BingX's id rules and our prefix."""

from __future__ import annotations

import hashlib
import re

MAX_CLIENT_ORDER_ID_LEN = 40
MAX_PREFIX_LEN = 20
_PREFIX_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_TOKEN_RE = re.compile(r"^[a-z0-9]{1,12}$")


def check_client_order_prefix(prefix: str) -> None:
    if not _PREFIX_RE.match(prefix) or len(prefix) > MAX_PREFIX_LEN:
        raise ValueError(
            f"client_order_prefix must be lowercase [a-z0-9] words joined by '-', at most "
            f"{MAX_PREFIX_LEN} chars; got {prefix!r}"
        )


def trade_id_for(namespace: str, instrument_id: str, ts: int, counter: int) -> str:
    """12 hex chars, deterministic from (namespace, instrument, ts, counter)."""
    key = f"{namespace}|{instrument_id}|{ts}|{counter}".encode()
    return hashlib.blake2b(key, digest_size=6).hexdigest()


def coid_token(trade_id: str) -> str:
    """The trade's part of a client order id: the trade id itself when it is short lowercase
    alphanumerics, else a stable 12-hex digest of it (legacy ids)."""
    if _TOKEN_RE.match(trade_id):
        return trade_id
    return hashlib.blake2b(trade_id.encode(), digest_size=6).hexdigest()


def client_order_id_for(prefix: str, token: str, letter: str, order_seq: int) -> str:
    coid = f"{prefix}-{token}-{letter}{order_seq}"
    if len(coid) > MAX_CLIENT_ORDER_ID_LEN:  # only reachable after ~10^5 orders on one trade
        raise RuntimeError(f"client order id {coid!r} exceeds {MAX_CLIENT_ORDER_ID_LEN} chars")
    return coid
