"""Trade ids and client order ids: deterministic, short, lowercase, inside BingX's id rules and our prefix.

A client order id is `{prefix}-{token}-{letter}{epoch}{seq}` (at most 40 chars, [a-z0-9-],
docs/reference/bingx_api.md §3.3: 1-40 chars, lowercased by the venue):

* `prefix`: the namespace's (`d<namespace>`), so every order of ours is recognised at the venue by it;
* `token`: the trade, 10 base-36 chars (`coid_token`); for a trade id minted here (12 hex) it is that id
  re-encoded, so the trade id is read back from any client order id (`trade_id_from_token`);
* `letter`: `e` entry, `x` exit, `s` backtest seed;
* `epoch`: the start epoch of the process that minted it, 6 base-36 chars of whole seconds since
  2000-01-01 UTC (`start_epoch`): a new life of the node never mints an id of a previous life, whatever
  sequence it restored (a snapshot written before the last orders of a killed life is stale), with no write
  on the order path. Lives are seconds apart (a start takes longer than that); ids are unique as long as
  the wall clock does not step back across a restart by more than a start-up takes;
* `seq`: the slot's order sequence, base 36, unique within a life.

Ids minted before the epoch existed (`{prefix}-{hex12}-{letter}{digits}`) still parse (`parse_client_order_id`),
with epoch -1: they belong to a previous life by construction.
"""

from __future__ import annotations

import hashlib
import re

import msgspec

MAX_CLIENT_ORDER_ID_LEN = 40
MAX_PREFIX_LEN = 17  # "d" + the longest namespace (16): the id then still has room for 4 sequence chars
TOKEN_LEN = 10
EPOCH_LEN = 6
EPOCH_BASE_S = 946_684_800  # 2000-01-01T00:00:00Z; 36**6 seconds from there reach 2069
MAX_EPOCH = 36**EPOCH_LEN - 1
ORDER_LETTERS = frozenset("exs")
_PREFIX_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_HEX12_RE = re.compile(r"^[0-9a-f]{12}$")
_TAIL_RE = re.compile(r"^([exs])([0-9a-z]{6})([0-9a-z]+)$")
_LEGACY_TAIL_RE = re.compile(r"^([exs])([0-9]+)$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def check_client_order_prefix(prefix: str) -> None:
    if not _PREFIX_RE.match(prefix) or len(prefix) > MAX_PREFIX_LEN:
        raise ValueError(
            f"client_order_prefix must be lowercase [a-z0-9] words joined by '-', at most "
            f"{MAX_PREFIX_LEN} chars; got {prefix!r}"
        )


def base36(value: int, width: int = 0) -> str:
    if value < 0:
        raise ValueError(f"base36 of a negative number: {value}")
    out = ""
    while value:
        value, digit = divmod(value, 36)
        out = _DIGITS[digit] + out
    return (out or "0").rjust(width, "0")


def start_epoch(wall_ns: int) -> int:
    """The id epoch of a process started at `wall_ns` (UNIX ns): whole seconds since 2000, clamped."""
    return min(max(wall_ns // 1_000_000_000 - EPOCH_BASE_S, 0), MAX_EPOCH)


def trade_id_for(namespace: str, instrument_id: str, ts: int, counter: int) -> str:
    """12 hex chars, deterministic from (namespace, instrument, ts, counter)."""
    key = f"{namespace}|{instrument_id}|{ts}|{counter}".encode()
    return hashlib.blake2b(key, digest_size=6).hexdigest()


def coid_token(trade_id: str) -> str:
    """The trade's part of a client order id: 10 base-36 chars. A 12-hex trade id (minted here) is re-encoded
    and can be read back; any other id (legacy, external) becomes a stable digest of it."""
    if _HEX12_RE.match(trade_id):
        return base36(int(trade_id, 16), TOKEN_LEN)
    return base36(int.from_bytes(hashlib.blake2b(trade_id.encode(), digest_size=6).digest(), "big"), TOKEN_LEN)


def trade_id_from_token(token: str) -> str:
    """The 12-hex trade id a token encodes (for a digest token of a legacy id: the digest, not the id; callers
    that know the trade ids map them with `coid_token`). An old-format token (12 hex) is the trade id."""
    if _HEX12_RE.match(token):
        return token
    return f"{int(token, 36):012x}"


def client_order_id_for(prefix: str, token: str, letter: str, epoch: int, order_seq: int) -> str:
    coid = f"{prefix}-{token}-{letter}{base36(epoch, EPOCH_LEN)}{base36(order_seq)}"
    if len(coid) > MAX_CLIENT_ORDER_ID_LEN:  # only reachable after 36**4 orders on one trade with the longest prefix
        raise RuntimeError(f"client order id {coid!r} exceeds {MAX_CLIENT_ORDER_ID_LEN} chars")
    return coid


class ParsedClientOrderId(msgspec.Struct, frozen=True):
    token: str
    letter: str  # e | x | s
    epoch: int  # -1: an id minted before ids carried an epoch
    seq: int

    @property
    def trade_id(self) -> str:
        return trade_id_from_token(self.token)

    @property
    def is_entry(self) -> bool:
        return self.letter == "e"


def parse_client_order_id(client_order_id: str, prefix: str) -> ParsedClientOrderId | None:
    """The parts of one of our client order ids (case-insensitive: the venue lowercases), None when the id is
    not of `prefix`'s namespace or not in one of our formats."""
    coid = client_order_id.lower()
    head = prefix + "-"
    if not coid.startswith(head):
        return None
    parts = coid[len(head) :].split("-")
    if len(parts) != 2:
        return None
    token, tail = parts
    if len(token) == TOKEN_LEN and token.isalnum():
        match = _TAIL_RE.match(tail)
        if match is None:
            return None
        return ParsedClientOrderId(token, match.group(1), int(match.group(2), 36), int(match.group(3), 36))
    if _HEX12_RE.match(token):
        legacy = _LEGACY_TAIL_RE.match(tail)
        if legacy is None:
            return None
        return ParsedClientOrderId(token, legacy.group(1), -1, int(legacy.group(2)))
    return None
