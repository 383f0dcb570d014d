"""The fidelity checklist (tests/fixtures/bingx/CHECKLIST.toml): every endpoint, stream and error code the
adapter uses is listed with what defines it; the emulator serves it as defined and the adapter decodes or
classifies it as defined. A test fails when the adapter starts using something the checklist lacks."""

from __future__ import annotations

import ast
import json
import pathlib
import time
import tomllib
from typing import Any

import pytest

import dolphin_nautilus.adapters.bingx.http as adapter_http
from dolphin_nautilus.adapters.bingx.errors import ERROR_CODES, kind_of_code
from dolphin_nautilus.adapters.bingx.schemas import account, market, trade
from dolphin_nautilus.adapters.bingx.schemas.common import ENVELOPE_DECODER, decoder
from dolphin_nautilus.adapters.bingx.websocket import market as ws_market
from dolphin_nautilus.adapters.bingx.websocket import user as ws_user
from dolphin_nautilus.bingx_emulator import errors as emulator_errors

from .recorded import FIXTURES, payload_bytes
from .venue import Venue, run

CHECKLIST = tomllib.loads((FIXTURES / "CHECKLIST.toml").read_text())
ENDPOINTS = CHECKLIST["endpoint"]
STREAMS = CHECKLIST["stream"]
ERRORS = {row["code"]: row for row in CHECKLIST["error"]}
SCHEMAS = {
    name: getattr(mod, name) for mod in (account, market, trade) for name in dir(mod) if name.startswith("BingX")
}
# docs/reference/bingx_api.md §7.2, the 2025-10-16 renumbering (old -> new)
REFERENCE_MIGRATION = {
    80001: 109400,
    80014: 109400,
    80012: 109500,
    80016: 109421,
    80018: 109422,
    80019: 109423,
    80020: 109403,
    100410: 109429,
}
# 80012 also carried "symbol not exist" before the renumbering; today that is 109425 (docs/reference/bingx_api.md §7.2
# "unchanged / other")
SPECIFIC_MEANINGS = {(80012, 109425)}


def _schema(text: str) -> Any:
    return list[SCHEMAS[text[5:-1]]] if text.startswith("list[") else SCHEMAS[text]


def _string_value(node: ast.AST, consts: dict[str, str]) -> str | None:
    """The text a string constant, a name bound to one in `consts`, or an f-string of those builds."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return consts.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [_string_value(v.value if isinstance(v, ast.FormattedValue) else v, consts) for v in node.values]
        return None if None in parts else "".join(p or "" for p in parts)
    return None


def _adapter_paths() -> set[str]:
    """Every `/openApi/...` string the adapter's REST modules build (module constants and f-strings)."""
    found: set[str] = set()
    for path in pathlib.Path(adapter_http.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        consts: dict[str, str] = {}
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
                value = _string_value(stmt.value, consts)
                if value is not None:
                    consts[stmt.targets[0].id] = value
        for node in ast.walk(tree):
            value = _string_value(node, consts)
            if value and value.startswith("/openApi/"):
                found.add(value)
    return {p for p in found if not any(q != p and q.startswith(p + "/") for q in found)}  # drop bare prefixes


def test_the_adapter_uses_no_endpoint_missing_from_the_checklist():
    used = _adapter_paths()
    assert len(used) >= 15
    assert used - {row["path"] for row in ENDPOINTS} == set()


def test_the_adapter_decodes_no_stream_missing_from_the_checklist():
    markers = {m for m, _ in ws_market._PAYLOAD_DECODERS} | set(ws_user._EVENT_DECODERS)  # noqa: SLF001
    assert markers - {row["marker"] for row in STREAMS} == set()


def test_the_adapter_maps_no_error_code_missing_from_the_checklist():
    assert set(ERROR_CODES) - set(ERRORS) == set()
    assert {code: kind.value for code, (kind, _) in ERROR_CODES.items()} == {c: ERRORS[c]["kind"] for c in ERROR_CODES}
    # one code, several meanings (docs/reference/bingx_api.md §7.2): the message decides
    assert (
        kind_of_code(80012, "symbol not exist").value == "REJECT" and kind_of_code(80012, "system busy").value == "BUSY"
    )


def test_emulator_error_codes_are_listed_and_renumbered_as_documented():
    codes = [v for v in vars(emulator_errors).values() if isinstance(v, emulator_errors.ErrorCode)]
    for error in codes:
        assert error.old in ERRORS and error.new in ERRORS, error
        if (
            error.old != error.new
            and error.old in REFERENCE_MIGRATION
            and (error.old, error.new) not in SPECIFIC_MEANINGS
        ):
            assert REFERENCE_MIGRATION[error.old] == error.new, error


@pytest.mark.parametrize("row", [r for r in ENDPOINTS if "schema" in r], ids=lambda r: f"{r['method']} {r['path']}")
def test_emulator_serves_the_endpoint_and_the_adapter_decodes_it(row, bingx_emulator):
    schema = _schema(row["schema"])
    now = str(int(time.time() * 1000) + 1000)
    params = {k: (now if v == "NOW" else v) for k, v in row.get("params", {}).items()}

    async def scenario(v: Venue):
        await v.order(symbol="BTC-USDT", side="BUY", positionSide="BOTH", type="MARKET", quantity="0.001")
        await v.order(
            symbol="BTC-USDT",
            side="BUY",
            positionSide="BOTH",
            type="LIMIT",
            quantity="0.001",
            price="40000",
            clientOrderId="checklist-1",
        )
        if row["method"] == "POST" and row["path"].endswith("/trade/order"):
            params["clientOrderId"] = "checklist-2"
        return await v.signed(row["method"], row["path"], params)

    reply = run(bingx_emulator, scenario)
    assert reply.status == 200, reply.text
    body = json.dumps(reply.json).encode()
    if "listenKey" in reply.json:
        decoder(schema).decode(body)
    else:
        envelope = ENVELOPE_DECODER.decode(body)
        assert envelope.code == 0, reply.text
        decoder(schema).decode(envelope.data)
    if "fixture" in row:  # the recording decodes with the same schema
        recorded = json.loads(payload_bytes(row["fixture"]))
        decoder(schema).decode(json.dumps(recorded.get("data", recorded)).encode())


@pytest.mark.parametrize("row", STREAMS, ids=lambda r: r["marker"])
def test_stream_fixture_is_decoded_by_the_adapter(row):
    text = payload_bytes(row["fixture"]).decode()
    if row["marker"].startswith("@"):
        frame = ws_market.parse_market_frame(text)
        assert row["marker"] in frame.data_type or row["marker"] == "@depth"
        payload = ws_market.decode_payload(frame.data_type, frame.data)
        assert not isinstance(payload, dict)  # a typed payload, not the raw fallback
    else:
        event = ws_user.parse_user_event(text.replace('"ORDER_TRADE_UPDATE"', f'"{row["marker"]}"'))
        assert event is not None and not isinstance(event, str)
