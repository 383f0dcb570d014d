"""Request parameters and HMAC-SHA256 signature checks (docs/reference/bingx_api.md §2)."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import parse_qsl

from . import errors as E
from .errors import Generation, VenueReject


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def _json_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def collect_params(raw_query: str, body: bytes, content_type: str) -> list[tuple[str, str]]:
    """All request params in the order sent: body first, then query (query wins on a clash)."""
    pairs: list[tuple[str, str]] = []
    if body:
        if content_type.startswith("application/json"):
            try:
                loaded = json.loads(body, parse_float=str, parse_int=str)
            except ValueError as exc:
                raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:Syntax error {exc}") from exc
            if not isinstance(loaded, dict):
                raise VenueReject(E.INVALID_PARAM, "Invalid parameters, err:JSON body must be an object")
            pairs += [(k, _json_text(v)) for k, v in loaded.items()]
        else:
            pairs += parse_qsl(body.decode(), keep_blank_values=True)
    pairs += parse_qsl(raw_query, keep_blank_values=True)
    return pairs


def _raw_without_signature(raw: str) -> str:
    return "&".join(p for p in raw.split("&") if p and not p.startswith("signature="))


def verify(
    pairs: list[tuple[str, str]],
    raw_query: str,
    body: bytes,
    secret: str,
    server_ms: int,
    max_recv_window_ms: int,
) -> dict[str, str]:
    """Check timestamp/recvWindow and the signature; returns the merged params (without signature).

    Accepted payloads: the decoded params as sent, the decoded params sorted a-z, and the
    URL-encoded bytes as sent (issue BingX-swap-api-doc#38 reports the venue verifies those)."""
    signature = next((v for k, v in reversed(pairs) if k == "signature"), "")
    unsigned = [(k, v) for k, v in pairs if k != "signature"]
    params = dict(unsigned)
    if not signature:
        raise VenueReject(E.NULL_SIGNATURE)
    timestamp = params.get("timestamp", "")
    try:
        recv_window = int(params.get("recvWindow") or 5000)
        skew = abs(server_ms - int(timestamp))
    except ValueError as exc:
        raise VenueReject(E.TIMESTAMP_MISMATCH) from exc
    if recv_window <= 0 or recv_window > max_recv_window_ms:
        raise VenueReject(E.INVALID_PARAM, f"Invalid parameters, err:recvWindow must be 1..{max_recv_window_ms}")
    if skew > recv_window:
        raise VenueReject(E.TIMESTAMP_MISMATCH)
    candidates = {
        "&".join(f"{k}={v}" for k, v in unsigned),
        "&".join(f"{k}={v}" for k, v in sorted(unsigned)),
        _raw_without_signature(raw_query),
        _raw_without_signature(body.decode(errors="replace") + "&" + raw_query),
    }
    expected = [sign(secret, c) for c in candidates]
    if not any(hmac.compare_digest(signature.lower(), e) for e in expected):
        raise VenueReject(E.SIGNATURE_MISMATCH)
    return params


def error_body(error: E.ErrorCode, generation: Generation, msg: str, server_ms: int) -> dict:
    body: dict = {"code": error.code(generation), "msg": msg}
    if error in (E.SIGNATURE_MISMATCH, E.NULL_SIGNATURE, E.BAD_API_KEY, E.TIMESTAMP_MISMATCH):
        body.update(success=False, timestamp=server_ms)  # the auth-failure shape of docs/reference/bingx_api.md §3.1
    else:
        body["data"] = {}
    return body
