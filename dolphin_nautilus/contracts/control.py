"""Operator requests the node-control actor hands to the strategy.

- `FLATTEN_TOPIC`: a `FlattenRequest` (from `dolphin-ctl flatten --apply`, through the node's control files):
  the strategy exits the book's slot on each instrument at once with a reduce-only market order (reason
  `OPERATOR_FLATTEN`), so the book records the exit like any other.
"""

from __future__ import annotations

import msgspec

FLATTEN_TOPIC = "dolphin.control.flatten"
FLATTEN_REASON = "OPERATOR_FLATTEN"


class FlattenRequest(msgspec.Struct, frozen=True, kw_only=True):
    instrument_ids: list[str]
    requested_by: str = ""
