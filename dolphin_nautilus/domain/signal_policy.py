"""Signals to intents, and the reference signal model. Pure: no I/O, no Nautilus.

A signal is a signed target exposure in [-1, 1] (fraction of the configured trade notional; the sign is the
direction). The policy turns a target into at most one intent for the instrument's slot:
- no open slot and |target| >= enter_above: ENTER in the target's direction, sized at the target;
- an open slot and the target changed sign (or is 0): EXIT;
- an open slot and the wanted size is at least `retract_step` below the held size: RETRACT to the wanted
  size (the book turns a retract that would leave dust into a full close);
- a growing target never adds (no scale-in): a slot only shrinks.
"""

from __future__ import annotations

import math
from decimal import Decimal
from enum import StrEnum

import msgspec


class IntentKind(StrEnum):
    ENTER = "ENTER"
    RETRACT = "RETRACT"
    EXIT = "EXIT"


class Intent(msgspec.Struct, frozen=True, kw_only=True):
    kind: IntentKind
    side: str = ""  # LONG | SHORT, for ENTER
    quantity: Decimal = Decimal(0)  # ENTER: size to open; RETRACT: size to take off
    reason: str = ""


class TargetPolicy(msgspec.Struct, frozen=True, kw_only=True):
    trade_notional: Decimal
    enter_above: float = 0.5
    retract_step: float = 0.2
    min_hold_bars: int = 5

    def intent_for(
        self, target: float, price: Decimal, held_side: str | None, held_qty: Decimal, bars_held: int
    ) -> Intent | None:
        """`held_side` None means no open slot. Quantities are raw; the book rounds to the instrument."""
        if not math.isfinite(target) or price <= 0:
            return None
        wanted = self.trade_notional * Decimal(str(abs(target))) / price
        side = "LONG" if target > 0 else "SHORT"
        if held_side is None:
            if abs(target) >= self.enter_above:
                return Intent(kind=IntentKind.ENTER, side=side, quantity=wanted, reason="SIGNAL_ENTER")
            return None
        if bars_held < self.min_hold_bars:
            return None
        if target == 0 or side != held_side:
            return Intent(kind=IntentKind.EXIT, reason="SIGNAL_EXIT")
        if wanted <= held_qty * Decimal(str(1 - self.retract_step)):
            return Intent(kind=IntentKind.RETRACT, quantity=held_qty - wanted, reason="SIGNAL_RETRACT")
        return None


class ReferenceSignalModel:
    """EMA-spread trend model on bar closes: target = clip(spread / full_exposure_spread, -1, 1), where
    spread = (ema_fast - ema_slow) / ema_slow. It publishes a new target only when it moved by `emit_step`
    or changed sign, so the strategy sees a handful of signals per trend rather than one per bar."""

    __slots__ = ("_a_fast", "_a_slow", "_bars", "_fast", "_full", "_slow", "_step", "_warmup", "last")

    def __init__(self, fast_bars: int, slow_bars: int, full_exposure_spread: float, emit_step: float) -> None:
        self._a_fast = 2.0 / (fast_bars + 1)
        self._a_slow = 2.0 / (slow_bars + 1)
        self._fast = self._slow = 0.0
        self._bars = 0
        self._warmup = slow_bars
        self._full = full_exposure_spread
        self._step = emit_step
        self.last = 0.0

    def update(self, close: float) -> float | None:
        """Feed one close; returns a new target when one should be published, else None."""
        if self._bars == 0:
            self._fast = self._slow = close
        else:
            self._fast += self._a_fast * (close - self._fast)
            self._slow += self._a_slow * (close - self._slow)
        self._bars += 1
        if self._bars < self._warmup:
            return None
        target = max(-1.0, min(1.0, (self._fast - self._slow) / self._slow / self._full))
        if abs(target - self.last) >= self._step or (target > 0) != (self.last > 0):
            self.last = target
            return target
        return None


class TargetBoard:
    """Targets are state, not events (docs/design.md §5): the latest target per instrument is kept and acted on
    whenever it becomes actionable (first bar, end of min-hold, end of a cooldown, after a reject), whatever
    its ts. A target stays *pending* until the intent it asks for is accepted, or until it asks for nothing;
    so an exit target (0) sent during min-hold is never dropped: it exits when min-hold ends.

    The strategy calls `update` for each signal, `next_intent` on every bar (and whenever a block lifts),
    `accepted` once the book accepted the intent, and `reopen` after the venue rejected it.
    """

    __slots__ = ("_latest", "_pending", "policy")

    def __init__(self, policy: TargetPolicy) -> None:
        self.policy = policy
        self._latest: dict[str, tuple[float, float, int]] = {}  # instrument -> (target, strength, ts)
        self._pending: set[str] = set()

    def update(self, instrument_id: str, target: float, strength: float = 1.0, ts: int = 0) -> bool:
        """Record the source's latest target. True (and pending) when it differs from the last one recorded;
        the same entry polled again changes nothing. A non-finite target is refused (False)."""
        if not math.isfinite(target) or not -1.0 <= target <= 1.0:
            return False
        entry = (target, strength, ts)
        if self._latest.get(instrument_id) == entry:
            return False
        self._latest[instrument_id] = entry
        self._pending.add(instrument_id)
        return True

    def latest(self, instrument_id: str) -> float | None:
        entry = self._latest.get(instrument_id)
        return None if entry is None else entry[0]

    def is_pending(self, instrument_id: str) -> bool:
        return instrument_id in self._pending

    def next_intent(
        self,
        instrument_id: str,
        price: Decimal | None,
        held_side: str | None,
        held_qty: Decimal,
        bars_held: int,
        *,
        blocked: bool = False,
    ) -> Intent | None:
        """The intent the pending target asks for now, or None.

        Kept pending (asked again next time): no price yet (before the first bar), `blocked` (cooldown,
        an order in flight, reconcile, safe mode), or a held slot still inside min-hold. Settled: a target
        that asks for nothing in the current state (e.g. below enter_above while flat).
        """
        if instrument_id not in self._pending or blocked or price is None or not price.is_finite() or price <= 0:
            return None
        if held_side is not None and bars_held < self.policy.min_hold_bars:
            return None
        intent = self.policy.intent_for(self._latest[instrument_id][0], price, held_side, held_qty, bars_held)
        if intent is None:
            self._pending.discard(instrument_id)
        return intent

    def accepted(self, instrument_id: str) -> None:
        """The book accepted the intent: the target is acted on (a later different target is pending again)."""
        self._pending.discard(instrument_id)

    def reopen(self, instrument_id: str) -> None:
        """The venue rejected the intent: the latest target is pending again."""
        if instrument_id in self._latest:
            self._pending.add(instrument_id)
