"""Recorded BingX payloads (tests/fixtures/bingx/*.json, each with its `source`) and the shape comparison
that holds the emulator to them: same field names, same JSON types, recursively."""

from __future__ import annotations

import json
import pathlib
from typing import Any

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "bingx"


def load_fixture(name: str) -> dict[str, Any]:
    """The whole fixture document: `source`, `endpoint` or `stream`, `payload`."""
    doc = json.loads((FIXTURES / f"{name}.json").read_text())
    if not doc.get("source"):
        raise ValueError(f"fixture {name} has no source note")
    return doc


def payload_bytes(name: str, *path: str | int) -> bytes:
    """The payload (or a part of it) as JSON bytes, for the adapter's decoders. Python's json keeps
    64-bit integers exact, so ids survive the round trip."""
    node: Any = load_fixture(name)["payload"]
    for key in path:
        node = node[key]
    return json.dumps(node).encode()


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_differences(venue: Any, ours: Any, *, extra_ok: frozenset[str] = frozenset(), where: str = "$") -> list[str]:
    """Where `ours` differs from the recorded `venue` payload in shape: a missing field, a different JSON
    type, or a field the venue never sends (unless named in `extra_ok`, by bare field name). Arrays are
    compared element-wise against the venue's first element; an empty array on either side is not
    compared further."""
    if json_type(venue) != json_type(ours):
        return [f"{where}: venue sends {json_type(venue)}, emulator {json_type(ours)} ({ours!r})"]
    out: list[str] = []
    if isinstance(venue, dict):
        for key, value in venue.items():
            if key not in ours:
                out.append(f"{where}.{key}: missing in emulator output")
            else:
                out += shape_differences(value, ours[key], extra_ok=extra_ok, where=f"{where}.{key}")
        out += [
            f"{where}.{key}: emulator sends a field the recording does not have"
            for key in ours
            if key not in venue and key not in extra_ok
        ]
    elif isinstance(venue, list) and venue and ours:
        for i, item in enumerate(ours):
            out += shape_differences(venue[0], item, extra_ok=extra_ok, where=f"{where}[{i}]")
    return out
