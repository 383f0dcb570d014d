"""The restore decision (docs/design.md §5): which trade slots come back on start, from which source, and why not.

Pure: takes parsed `SourceBatch`es (see candidates.py), returns a `RestoreDecision`. Total: no value in any
candidate can make it raise, and a candidate or trade that cannot be decided is rejected on its own
without touching the others (docs/restore.md). Invalid records are rejected and recorded, and restore
continues from the next sane source, or flat. The ordering and validity rules are in ordering.py; the dust
rule and the venue's side for side-less records in venue_rules.py.

The ordering rule, one for every comparison, within a source and across sources (`is_newer`): a record is
newer than another by `seq` when both have one (then `ts` breaks a seq tie), otherwise by `ts`. A record
with neither is rejected (`unordered`) and takes no part. Two records neither of which is newer (equal
keys, or one with only a seq against one with only a ts) are tied.

Rules, in order, for each trade id:

1. Per source, the LATEST records decide: those no other record of the source is newer than. When several
   are latest (a tie) and differ, the most conservative is kept (CLOSED/TOMBSTONED, then a retraction, then
   any other invalid record, then a valid OPEN; then by content text) and the tie is recorded.
2. Filter AFTER choosing: the source's latest record is its claim. A latest OPEN with zero (or negative)
   quantity or notional is a *retraction*: the trade was fully retracted, so that source's older non-zero
   OPEN rows never come back.
3. Across sources, the newest VALID claim wins. It is still rejected as superseded when ANY ordered record
   of ANY source for the trade that ends it (CLOSED, TOMBSTONED, or a retraction) is newer than it; then
   the next valid claim is tried. So an end record newer than an OPEN always wins; a newer corrupt claim
   (NaN, unknown instrument, insane bars_held) in one source falls back to another source's valid claim,
   but nothing older than a close or a retraction comes back.
4. A CLOSED/TOMBSTONED (or retraction) record OLDER than a valid OPEN in another source does not stop that
   OPEN: the newest record decides. The conflict is recorded as a disagreement (`closed_older_than_open`),
   and live reconciliation against the venue (docs/design.md §5.5) tombstones the slot if the venue is flat.
5. One-way account: at most one slot per instrument. If two trades survive for one instrument, the newest
   (latest opened_ts, then record ts, then trade id; seq is per trade so it cannot compare trades) is kept
   and the other rejected (`instrument_conflict`).

Source preference (the order of `sources`) breaks ties between equally new claims, so if the preferred
source yields nothing sane for a trade the next sane source's claim is used, else the trade stays flat.
"""

from __future__ import annotations

import enum
import traceback
from collections import defaultdict
from collections.abc import Iterable, Sequence

import msgspec

from dolphin_nautilus.domain.restored import RestoredSlot
from dolphin_nautilus.restore.candidates import Candidate, CapitalSnapshot, Rejection, SourceBatch
from dolphin_nautilus.restore.ordering import (
    content_key,
    describe_record,
    is_end,
    is_newer,
    is_ordered,
    is_retraction,
    latest_records,
    material_diff,
    problems,
    sanitized,
)
from dolphin_nautilus.restore.values import TERMINAL_STATUSES, excerpt


class RestoreStatus(enum.StrEnum):
    RESTORED = "RESTORED"  # at least one slot restored, every source read
    FLAT = "FLAT"  # every source read, nothing sane to restore
    DEGRADED = "DEGRADED"  # a source was unreachable (or an internal error): slots may be missing


class Disagreement(msgspec.Struct, frozen=True, kw_only=True):
    trade_id: str
    kind: str  # sources_differ | tie_in_source | tie_across_sources | closed_older_than_open
    chosen_source: str  # "" when nothing was restored for the trade
    detail: str
    sources: tuple[str, ...]


class RestoreDecision(msgspec.Struct, frozen=True, kw_only=True):
    status: RestoreStatus
    slots: tuple[RestoredSlot, ...]
    rejections: tuple[Rejection, ...]
    disagreements: tuple[Disagreement, ...]
    capital: CapitalSnapshot | None
    sources_used: tuple[str, ...]  # sources that gave at least one restored slot, in preference order
    sources_read: tuple[str, ...]
    unreachable: tuple[tuple[str, str], ...]  # (source, reason)
    warnings: tuple[str, ...]
    closed_trades: int  # trades whose deciding record is CLOSED/TOMBSTONED: normal history, not rejections
    decided_ts: int
    internal_error: str | None = None


SourceInput = SourceBatch | tuple[str, Iterable[Candidate] | None]


# ---------------------------------------------------------------------------------------------- decide


def decide(
    sources: Sequence[SourceInput],
    known_instruments: Iterable[str],
    max_bars_held: int,
    now_ns: int,
) -> RestoreDecision:
    """Decide which slots to restore. `sources` is in preference order (e.g. live state first).

    Each source is a `SourceBatch` or a `(name, candidates)` pair; `(name, None)` means unreachable.
    Never raises: an internal error gives a DEGRADED, flat decision that says so.
    """
    try:
        return _Decider(_batches(sources), frozenset(known_instruments), max_bars_held, now_ns).run()
    except Exception as exc:  # noqa: BLE001 - restore must never turn into a restart loop
        return failed_decision("".join(traceback.format_exception_only(exc)).strip(), now_ns)


def failed_decision(reason: str, now_ns: int) -> RestoreDecision:
    """The decision when restore cannot finish: DEGRADED, flat, and `reason` as its internal error."""
    return RestoreDecision(
        status=RestoreStatus.DEGRADED,
        slots=(),
        rejections=(),
        disagreements=(),
        capital=None,
        sources_used=(),
        sources_read=(),
        unreachable=(),
        warnings=(),
        closed_trades=0,
        decided_ts=now_ns,
        internal_error=reason,
    )


def _batches(sources: Sequence[SourceInput]) -> list[SourceBatch]:
    batches = []
    for item in sources:
        if isinstance(item, SourceBatch):
            batches.append(item)
            continue
        name, candidates = item
        if candidates is None:
            batches.append(SourceBatch(name=name, unreachable="source unreachable"))
        else:
            batches.append(SourceBatch(name=name, candidates=tuple(candidates)))
    return batches


class _Claim(msgspec.Struct, kw_only=True):
    """One source's deciding record for one trade."""

    candidate: Candidate
    source_index: int
    problems: list[str]


class _Decider:
    def __init__(self, batches: list[SourceBatch], known: frozenset[str], max_bars: int, now_ns: int) -> None:
        self.batches = batches
        self.known = known
        self.max_bars = max_bars
        self.now_ns = now_ns
        self.rejections: list[Rejection] = [r for b in batches for r in b.rejections]
        self.disagreements: list[Disagreement] = []
        self.closed_trades = 0

    def run(self) -> RestoreDecision:
        records = self._records_by_trade()
        winners = [w for trade_id in sorted(records) if (w := self._decide_isolated(trade_id, records[trade_id]))]
        slots = self._one_per_instrument(winners, records)
        status = RestoreStatus.RESTORED if slots else RestoreStatus.FLAT
        unreachable = tuple((b.name, b.unreachable) for b in self.batches if b.unreachable is not None)
        if unreachable:
            status = RestoreStatus.DEGRADED
        used = {s.source for s in slots}
        return RestoreDecision(
            status=status,
            slots=tuple(slots),
            rejections=tuple(self.rejections),
            disagreements=tuple(self.disagreements),
            capital=next((b.capital for b in self.batches if b.capital is not None), None),
            sources_used=tuple(b.name for b in self.batches if b.name in used),
            sources_read=tuple(b.name for b in self.batches if b.unreachable is None),
            unreachable=unreachable,
            warnings=tuple(w for b in self.batches for w in b.warnings),
            closed_trades=self.closed_trades,
            decided_ts=self.now_ns,
        )

    def _records_by_trade(self) -> dict[str, dict[int, list[Candidate]]]:
        records: dict[str, dict[int, list[Candidate]]] = defaultdict(lambda: defaultdict(list))
        unused: list[Rejection] = []
        for index, batch in enumerate(self.batches):
            for item in batch.candidates:
                c = sanitized(item)
                if isinstance(c, str):
                    trade_id = getattr(item, "trade_id", "")
                    unused.append(
                        Rejection(
                            source=batch.name,
                            trade_id=trade_id if isinstance(trade_id, str) else "",
                            raw_excerpt=excerpt(item),
                            reason=f"unusable candidate: {c}",
                        )
                    )
                elif not is_ordered(c):
                    unused.append(
                        Rejection(
                            source=c.source,
                            trade_id=c.trade_id,
                            instrument_id=c.instrument_id,
                            kind="unordered",
                            raw_excerpt=excerpt(c.raw),
                            reason="record has neither seq nor ts: it cannot be "
                            "ordered against the trade's other records",
                        )
                    )
                else:
                    records[c.trade_id][index].append(c)
        # Sorted, so the decision does not depend on the order of records within a source.
        self.rejections += sorted(unused, key=lambda r: msgspec.json.encode(r, enc_hook=str, order="sorted"))
        return records

    # -- one trade

    def _decide_isolated(self, trade_id: str, by_source: dict[int, list[Candidate]]) -> _Claim | None:
        """One trade's decision; should it fail, only that trade is rejected (restore is total, docs/design.md §5.3)."""
        rejections, disagreements, closed = len(self.rejections), len(self.disagreements), self.closed_trades
        try:
            return self._decide_trade(trade_id, by_source)
        except Exception as exc:  # noqa: BLE001 - a defect here must not take the other trades down
            del self.rejections[rejections:], self.disagreements[disagreements:]
            self.closed_trades = closed
            for records in by_source.values():
                for c in records:
                    self.rejections.append(
                        Rejection(
                            source=c.source,
                            trade_id=c.trade_id,
                            instrument_id=c.instrument_id,
                            kind="internal",
                            raw_excerpt=excerpt(c.raw),
                            reason=f"trade could not be decided: {exc!r}",
                        )
                    )
            return None

    def _decide_trade(self, trade_id: str, by_source: dict[int, list[Candidate]]) -> _Claim | None:
        claims = [self._claim(trade_id, index, by_source[index]) for index in sorted(by_source)]
        everything = [c for index in sorted(by_source) for c in by_source[index]]
        valid = sorted((c for c in claims if not c.problems), key=lambda c: self._rank(c, claims))
        winner = None
        superseded: list[_Claim] = []
        for claim in valid:
            superseding = [r for r in everything if is_end(r) and is_newer(r, claim.candidate)]
            if superseding:
                superseded.append(claim)
                newest = min(latest_records(superseding), key=lambda r: (r.source, content_key(r)))
                self._reject(claim, "superseded", f"superseded by newer {describe_record(newest)}")
            elif winner is None:
                winner = claim
        if winner is None:
            self._record_no_winner(claims)
            return None
        self._record_losers(winner, [c for c in claims if all(c is not s for s in superseded)])
        return winner

    def _claim(self, trade_id: str, index: int, records: list[Candidate]) -> _Claim:
        tied = latest_records(records)
        chosen = tied[0] if len(tied) == 1 else min(tied, key=self._conservative_order)
        if len(tied) > 1 and len({content_key(c) for c in tied}) > 1:
            self.disagreements.append(
                Disagreement(
                    trade_id=trade_id,
                    kind="tie_in_source",
                    chosen_source=self.batches[index].name,
                    detail=f"{len(tied)} latest records, none newer than the others; kept the most conservative: "
                    f"{describe_record(chosen)}",
                    sources=(self.batches[index].name,),
                )
            )
        return _Claim(candidate=chosen, source_index=index, problems=problems(chosen, self.known, self.max_bars))

    def _conservative_order(self, c: Candidate) -> tuple[int, str]:
        if c.status in TERMINAL_STATUSES:
            rank = 0
        elif is_retraction(c):
            rank = 1
        else:
            rank = 2 if problems(c, self.known, self.max_bars) else 3
        return rank, content_key(c)

    @staticmethod
    def _rank(claim: _Claim, claims: list[_Claim]) -> tuple[int, int]:
        """Newest first: the claim newer than the most others; then source preference."""
        beaten = sum(is_newer(claim.candidate, other.candidate) for other in claims if other is not claim)
        return -beaten, claim.source_index

    def _record_no_winner(self, claims: list[_Claim]) -> None:
        if any(c.candidate.status in TERMINAL_STATUSES for c in claims):
            self.closed_trades += 1
        for claim in claims:
            if claim.candidate.status in TERMINAL_STATUSES or not claim.problems:
                continue  # closed history is normal; valid claims were recorded as superseded
            if is_retraction(claim.candidate):
                self._reject(
                    claim,
                    "retracted",
                    "latest record is OPEN with nothing left (fully retracted): " + "; ".join(claim.problems),
                )
            else:
                self._reject(claim, "invalid", "; ".join(claim.problems))

    def _record_losers(self, winner: _Claim, claims: list[_Claim]) -> None:
        for claim in claims:
            if claim is winner:
                continue
            c = claim.candidate
            names = (self.batches[winner.source_index].name, self.batches[claim.source_index].name)
            if is_end(c):
                self.disagreements.append(
                    Disagreement(
                        trade_id=c.trade_id,
                        kind="closed_older_than_open",
                        chosen_source=names[0],
                        sources=names,
                        detail=f"kept {describe_record(winner.candidate)}; {describe_record(c)} is not newer",
                    )
                )
            elif claim.problems:
                self._reject(claim, "invalid", "; ".join(claim.problems) + f" (restored from {names[0]} instead)")
            elif content_key(c) != content_key(winner.candidate):
                tie = not is_newer(winner.candidate, c)
                self.disagreements.append(
                    Disagreement(
                        trade_id=c.trade_id,
                        kind="tie_across_sources" if tie else "sources_differ",
                        chosen_source=names[0],
                        sources=names,
                        detail=f"kept {describe_record(winner.candidate)} over {describe_record(c)}: "
                        f"{material_diff(winner.candidate, c)}",
                    )
                )

    def _reject(self, claim: _Claim, kind: str, reason: str) -> None:
        c = claim.candidate
        self.rejections.append(
            Rejection(
                source=c.source,
                trade_id=c.trade_id,
                reason=reason,
                raw_excerpt=excerpt(c.raw),
                kind=kind,
                instrument_id=c.instrument_id,
            )
        )

    # -- across trades

    def _one_per_instrument(
        self, winners: list[_Claim], records: dict[str, dict[int, list[Candidate]]]
    ) -> list[RestoredSlot]:
        by_instrument: dict[str, list[_Claim]] = defaultdict(list)
        for claim in winners:
            by_instrument[claim.candidate.instrument_id].append(claim)
        slots = []
        for instrument_id in sorted(by_instrument):
            contenders = by_instrument[instrument_id]
            ordered = sorted(contenders, key=_trade_recency, reverse=True)
            keep = ordered[0]
            for loser in ordered[1:]:
                self._reject(
                    loser,
                    "instrument_conflict",
                    f"{instrument_id} already restored for newer trade {keep.candidate.trade_id} "
                    "(one-way account: one slot per instrument)",
                )
            all_records = [c for per_source in records[keep.candidate.trade_id].values() for c in per_source]
            try:
                slots.append(self._slot(keep, all_records))
            except Exception as exc:  # noqa: BLE001 - one slot that cannot be built never drops the others
                self._reject(keep, "internal", f"slot could not be built: {exc!r}")
        return slots

    def _slot(self, claim: _Claim, all_records: list[Candidate]) -> RestoredSlot:
        c = claim.candidate
        order_seqs = [r.order_seq for r in all_records if r.order_seq is not None and r.order_seq >= 0]
        opened = c.opened_ts if c.opened_ts is not None else (c.ts if c.ts is not None else 0)
        return RestoredSlot(
            trade_id=c.trade_id,
            instrument_id=c.instrument_id,
            side=c.side,
            quantity=c.quantity,
            entry_price=c.entry_price,
            bars_held=c.bars_held or 0,
            realized_pnl=c.realized_pnl,
            fees=c.fees,
            legs=c.legs or 0,
            opened_ts=opened,
            order_seq=max(order_seqs, default=0),
            notional=c.notional,
            source=self.batches[claim.source_index].name,
            seq=c.seq,
            ts=c.ts,
        )


def _trade_recency(claim: _Claim) -> tuple[int, int, str]:
    """Newest trade first: seq is per trade, so trades compare by when they opened, then record time."""
    c = claim.candidate
    ts = c.ts if c.ts is not None else -1
    return (c.opened_ts if c.opened_ts is not None else ts, ts, c.trade_id)
