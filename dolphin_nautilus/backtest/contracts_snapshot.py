"""BingX's contract list as a dated snapshot file: where backtests get tick, step, minimums, fees and max leverage.

The file has the shape of the venue's `GET /openApi/swap/v2/quote/contracts` response plus a `snapshot` header
(date, sources, whether the list is complete). `refresh_contracts_snapshot` replaces it with what the venue
(or a paper venue such as our emulator) answers now, through the adapter's own HTTP client and schema, so the
backtest and the live instrument provider read contracts through one decoder.
"""

from __future__ import annotations

import difflib
import json
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import msgspec

from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient
from dolphin_nautilus.adapters.bingx.http.market import BingXMarketHttpAPI
from dolphin_nautilus.adapters.bingx.parsing import contract_to_spec
from dolphin_nautilus.adapters.bingx.schemas.common import convert
from dolphin_nautilus.adapters.bingx.schemas.market import BingXContract
from dolphin_nautilus.adapters.bingx.symbols import to_instrument_id
from dolphin_nautilus.domain.instruments import InstrumentSpec

SNAPSHOT_PATH = Path(__file__).resolve().parent / "data" / "bingx_contracts.json"


class ContractSnapshotError(ValueError):
    pass


class UnknownInstrument(ContractSnapshotError):
    """An instrument id the snapshot does not list; the message names the nearest ids that it does."""


class SnapshotHeader(msgspec.Struct, kw_only=True):
    endpoint: str = "GET /openApi/swap/v2/quote/contracts"
    taken_at: str = ""
    complete: bool = True
    sources: list[str] = []
    notes: str = ""


class ContractSnapshot(msgspec.Struct, kw_only=True):
    header: SnapshotHeader
    path: str
    contracts: dict[str, BingXContract]  # by instrument id, USDT-settled rows only
    max_leverage: dict[str, int]  # by instrument id; 0 = not recorded

    def spec(self, instrument_id: str) -> InstrumentSpec:
        contract = self.contracts.get(instrument_id)
        if contract is None:
            raise UnknownInstrument(unknown_instrument_message(instrument_id, sorted(self.contracts), self))
        return contract_to_spec(contract)

    @property
    def instrument_ids(self) -> list[str]:
        return sorted(self.contracts)


def unknown_instrument_message(instrument_id: str, known: list[str], snapshot: ContractSnapshot) -> str:
    nearest = difflib.get_close_matches(instrument_id, known, n=5, cutoff=0.5)
    hint = (
        f"nearest: {', '.join(nearest)}"
        if nearest
        else f"known: {', '.join(known[:20])}" + (f" ... ({len(known)} in all)" if len(known) > 20 else "")
    )
    partial = (
        ""
        if snapshot.header.complete
        else (" (the bundled list is partial; `dolphin-backtest contracts --refresh` loads the venue's full list)")
    )
    return (
        f"instrument {instrument_id!r} is not in the BingX contract snapshot {snapshot.path} "
        f"(taken {snapshot.header.taken_at or 'at an unknown date'}); {hint}{partial}"
    )


def load_contracts_snapshot(path: str | Path | None = None) -> ContractSnapshot:
    """Read and decode a snapshot file; every problem names the file and the row."""
    return _load(str(Path(path).resolve()) if path else str(SNAPSHOT_PATH))


@cache
def _load(path: str) -> ContractSnapshot:
    try:
        # Venue numbers as Decimal (like the adapter's decoder): 0.0002 must not pass through a float.
        raw = msgspec.json.Decoder(float_hook=Decimal).decode(Path(path).read_bytes())
    except FileNotFoundError:
        raise ContractSnapshotError(f"{path}: no such contract snapshot file") from None
    except msgspec.DecodeError as exc:
        raise ContractSnapshotError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise ContractSnapshotError(f'{path}: expected the quote/contracts response shape {{"code": 0, "data": [...]}}')
    try:
        header = msgspec.convert(raw.get("snapshot", {}), SnapshotHeader)
    except msgspec.ValidationError as exc:
        raise ContractSnapshotError(f"{path}: bad 'snapshot' header: {exc}") from None
    contracts: dict[str, BingXContract] = {}
    leverage: dict[str, int] = {}
    for row_no, row in enumerate(raw["data"]):
        try:
            contract = convert(row, BingXContract)
        except (msgspec.ValidationError, ValueError) as exc:
            raise ContractSnapshotError(f"{path}: data[{row_no}] is not a contract row: {exc}") from None
        if not contract.symbol.endswith("-USDT"):
            continue  # USDC-M and other settlements are not backtested here
        instrument_id = to_instrument_id(contract.symbol)
        contracts[instrument_id] = contract
        leverage[instrument_id] = min(contract.max_long_leverage, contract.max_short_leverage)
    if not contracts:
        raise ContractSnapshotError(f"{path}: lists no USDT-M contract")
    return ContractSnapshot(header=header, path=path, contracts=contracts, max_leverage=leverage)


def write_contracts_snapshot(contracts: list[BingXContract], path: str | Path, *, source: str) -> Path:
    """Write `contracts` (as the venue returned them) as a dated, complete snapshot."""
    path = Path(path)
    document = {
        "snapshot": {
            "endpoint": "GET /openApi/swap/v2/quote/contracts",
            "taken_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "complete": True,
            "sources": [source],
            "notes": "written by dolphin_nautilus.backtest.contracts_snapshot.refresh_contracts_snapshot",
        },
        "code": 0,
        "msg": "",
        "data": [msgspec.to_builtins(c, enc_hook=str) for c in contracts],  # Num (a Decimal) as text
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(document, indent=1, default=str))
    tmp.replace(path)  # a reader never sees half a file
    _load.cache_clear()
    return path


async def refresh_contracts_snapshot(rest_url: str, path: str | Path = SNAPSHOT_PATH) -> Path:
    """Fetch the venue's contract list (public endpoint, no key) and write it as the snapshot at `path`."""
    async with BingXHttpClient(rest_url) as client:
        contracts = await BingXMarketHttpAPI(client).contracts()
    if not contracts:
        raise ContractSnapshotError(f"{rest_url}: the venue listed no contracts; snapshot left unchanged")
    return write_contracts_snapshot(contracts, path, source=f"{rest_url}/openApi/swap/v2/quote/contracts")
