"""The operator guidance table: for every `Code`, what it means, what the system does by itself and what the
operator should do. `dolphin-ctl faults` and docs/operator.md render it verbatim (see `guidance_table()`).

This module holds the rows for what happens while trading (success and benign notices, refused intents, venue
faults, state divergence); `fault_guidance_lifecycle.py` holds the rest. `GUIDANCE` joins both in `Code` order.
"""

from __future__ import annotations

from .fault_codes import Code, Guidance, Severity
from .fault_guidance_lifecycle import LIFECYCLE_GUIDANCE

_G = Guidance
TRADING_GUIDANCE: dict[Code, Guidance] = {
    Code.OK: _G(
        severity=Severity.INFO,
        meaning="The intent or event was applied as asked.",
        automatic="Nothing further.",
        operator="None.",
    ),
    Code.MAX_HOLD_EXIT: _G(
        severity=Severity.INFO,
        meaning="The slot has been held for max_hold_bars bars; a reduce-only exit for the whole remaining "
        "size was sent with reason MAX_HOLD.",
        automatic="If that exit is rejected, it is sent again on every following bar until the slot closes.",
        operator="None. If many trades end on MAX_HOLD, review the exit model or max_hold_bars.",
    ),
    Code.DUPLICATE_EVENT: _G(
        severity=Severity.INFO,
        meaning="A fill (same venue trade id) or order event already applied arrived again (WS replay, "
        "reconnect, REST and WS both reporting it).",
        automatic="Dropped: no state change, no capital change, no extra row.",
        operator="None. A steady stream of duplicates points at a reconnect loop in the data feed; check WS health.",
    ),
    Code.LATE_EVENT: _G(
        severity=Severity.INFO,
        meaning="An order event arrived for an order already in a final state (e.g. an 'accepted' after its "
        "cancel). The venue reports out of order.",
        automatic="Recorded in the orders table; slot state is not moved backwards.",
        operator="None.",
    ),
    Code.NO_ACTIVE_EXIT_ORDER: _G(
        severity=Severity.INFO,
        meaning="Either a cancel was asked while no exit order works, or an exit fill arrived for an order "
        "that is no longer the slot's working exit (it was rejected, canceled or replaced). Typically the "
        "order filled between the decision and the venue's answer.",
        automatic="The fill is applied anyway: the slot's size converges to what the venue executed (and "
        "closes if nothing remains).",
        operator="None.",
    ),
    Code.NO_OPEN_SLOT: _G(
        severity=Severity.INFO,
        meaning="An exit or retract was asked on an instrument with no trade in this book.",
        automatic="Nothing sent.",
        operator="None, unless the venue shows a position there: then run `dolphin-ctl positions --config F` and "
        "reconcile (the position is not owned by this node).",
    ),
    Code.SLOT_BUSY: _G(
        severity=Severity.INFO,
        meaning="An entry was asked on an instrument that already has a live trade (one-way/NETTING: one "
        "slot per instrument), or a restore targeted such an instrument.",
        automatic="Nothing sent; the live trade is untouched.",
        operator="None.",
    ),
    Code.ENTRY_IN_FLIGHT: _G(
        severity=Severity.INFO,
        meaning="An exit or retract was asked while the entry order is still working and nothing is filled yet.",
        automatic="Nothing sent. Cancel the entry (cancel intent) or wait for its fills.",
        operator="None.",
    ),
    Code.EXIT_ALREADY_WORKING: _G(
        severity=Severity.INFO,
        meaning="An exit or retract was asked while an exit order for this slot is still working. Only one "
        "exit is in flight at a time, so exits can never add up to an oversell.",
        automatic="Nothing sent. The working exit continues; ask again after it fills, is canceled or rejected.",
        operator="None.",
    ),
    Code.EXIT_ON_CLOSED_SLOT: _G(
        severity=Severity.WARNING,
        meaning="An exit or retract was asked for a trade that is already CLOSED. A slot closes exactly once.",
        automatic="Nothing sent; the closed trade and its rows are untouched.",
        operator="Usually a stale signal; harmless. If it repeats for the same trade, the signal source is "
        "not seeing closes: check the strategy's signal feed.",
    ),
    Code.BELOW_VENUE_MINIMUM: _G(
        severity=Severity.WARNING,
        meaning="The order the intent asked for is below the venue minimum quantity or minimum notional (after "
        "rounding down to the size step), and, for a retract, what would remain is not dust.",
        automatic="Nothing sent; the slot is unchanged. A retract that would leave dust is instead turned "
        "into a full close, so this never strands a dust position.",
        operator="None for an occasional one. If frequent, the sizing model trades too small for this "
        "instrument's minimums: raise the size or drop the instrument.",
    ),
    Code.INTENT_BLOCKED: _G(
        severity=Severity.WARNING,
        meaning="The instrument is being reconciled against the venue (STALE_STATE_RECONCILING), or the book "
        "is in safe mode (entries blocked after a failed or partial restore).",
        automatic="Nothing sent until the reconcile resolves / safe mode is lifted.",
        operator="See STALE_STATE_RECONCILING; for safe mode, read the restore report "
        "(`dolphin-ctl restore-report --config F`) and restart once the cause is fixed.",
    ),
    Code.INVALID_INPUT: _G(
        severity=Severity.ERROR,
        meaning="An intent or event carried malformed values (non-positive or non-finite quantity/price, "
        "fraction outside (0, 1], both or neither of quantity/fraction, unknown side).",
        automatic="Rejected with no state change.",
        operator="A bug in the caller (strategy or adapter); file it with the anomaly's details.",
    ),
    Code.UNKNOWN_INSTRUMENT: _G(
        severity=Severity.ERROR,
        meaning="An intent named an instrument the book has no spec for (not loaded by the instrument "
        "provider, or delisted).",
        automatic="Nothing sent.",
        operator="Check the instrument list in the node config and that BingX still lists the contract.",
    ),
    Code.RATE_LIMITED: _G(
        severity=Severity.WARNING,
        meaning="The venue answered an order with a rate limit (BingX 100410/429) and the execution client "
        "checked by client order id that nothing was placed. Also returned, at INFO, for an intent asked "
        "before the wait the venue gave is over.",
        automatic="The slot returns to where it was before the intent (an entry: no trade; an exit: OPEN). "
        "The instrument sends nothing before retry_at (retry_after_ms in details); the next decision after it "
        "(a target, or max hold on the next bar) sends again under a new client order id.",
        operator="None unless it persists (see RATE_LIMIT_PERSISTENT).",
    ),
    Code.RATE_LIMIT_PERSISTENT: _G(
        severity=Severity.ERROR,
        meaning="The execution client gave up on an order after several consecutive rate limits with no "
        "successful venue interaction in between (raised by the execution side, which owns the cooldown).",
        automatic="Each order still waits for its cooldown; nothing is resent blind.",
        operator="Check BingX API status and our request rate (other processes on the same API key?). "
        "Raise the cooldown in the node config if the venue's window is known. If a position must be "
        "flattened now, use the BingX web UI.",
    ),
    Code.UNKNOWN_ORDER_OUTCOME: _G(
        severity=Severity.WARNING,
        meaning="An order's outcome is unknown (timeout, connection drop): it may be live at the venue. Also "
        "returned when an exit is asked while such an order is unresolved.",
        automatic="The order is NOT resent. The execution client queries the venue by client order id and "
        "the book applies the answer (placed: it is live; not placed: the slot returns to where it was). If "
        "no answer comes within the configured time, the slot goes to STALE_STATE_RECONCILING and the venue "
        "position decides; max hold then applies again.",
        operator="None unless it stays unresolved for minutes: then look the client order id up in the "
        "BingX UI / `dolphin-ctl orders --config F` and reconcile.",
    ),
    Code.ORDER_REJECTED: _G(
        severity=Severity.WARNING,
        meaning="The venue (or the engine's risk checks) rejected an ENTRY order. details.reason holds the venue text.",
        automatic="The slot returns to IDLE; the decision logic re-evaluates on the next cycle.",
        operator="Check the instrument is tradeable (suspension, precision or min-size change, margin). "
        "Repeated rejects with the same reason need a config or funding fix.",
    ),
    Code.EXIT_ORDER_REJECTED: _G(
        severity=Severity.ERROR,
        meaning="The venue rejected an EXIT order: the position is still open and still at risk.",
        automatic="The slot keeps its position (EXIT_WORKING with no working exit); the next exit decision "
        "sends a new exit; max-hold still applies and retries every bar once reached.",
        operator="Read details.reason. If the position is still open past max_hold_bars, flatten it "
        "manually (`dolphin-ctl flatten --config F --instrument <id>` or the BingX UI); the book converges "
        "on the next reconcile.",
    ),
    Code.CANCEL_REJECTED: _G(
        severity=Severity.WARNING,
        meaning="The venue refused a cancel (WARNING) or a modify (INFO), usually because the order already "
        "filled or was already canceled.",
        automatic="Slot unchanged; the cancel can be asked again; a fill in between converges the slot.",
        operator="Check open orders on BingX if it repeats for the same order.",
    ),
    Code.UNKNOWN_CLIENT_ORDER: _G(
        severity=Severity.ERROR,
        meaning="A venue event or fill names a client order id this book did not create (manual trading on "
        "the account, another node on the same key, or state lost in a crash).",
        automatic="Not applied to any slot. A fill on a known instrument puts that instrument into reconcile.",
        operator="Make sure no one else trades this account/sub-account; run `dolphin-ctl mode-verify`. "
        "Then reconcile the instrument.",
    ),
    Code.STALE_STATE_RECONCILING: _G(
        severity=Severity.WARNING,
        meaning="The book's view of the instrument may differ from the venue (reconnect, overfill, foreign "
        "fill, restore). The slot is in STALE_STATE_RECONCILING and new intents are blocked.",
        automatic="The strategy queries the venue position; the venue's quantity wins and the slot is "
        "adjusted, closed or reopened accordingly.",
        operator="If a slot stays in this state for more than 30 s, the venue snapshot is failing: check "
        "connectivity and restart the node (`dolphin-ctl restart`), which reconciles on start.",
    ),
    Code.RECONCILE_ADJUSTED: _G(
        severity=Severity.WARNING,
        meaning="Reconcile found a different quantity at the venue than in the book and adjusted the slot "
        "by a ledger entry (reason RECONCILE). Realized PnL of a reconcile reduction is unknown and booked "
        "as 0; capital stays exact because the account is fed by the venue.",
        automatic="Slot adjusted or closed to match the venue; trading on it resumes.",
        operator="Find the cause (missed fill, manual trade, liquidation) in the fills table and the "
        "venue's trade history.",
    ),
    Code.VENUE_POSITION_MISMATCH: _G(
        severity=Severity.CRITICAL,
        meaning="The venue holds a position this book does not own (opposite side to the trade, or no "
        "trade at all). Real money is exposed outside the strategy's control.",
        automatic="Our trade (if any) is closed in the book; the instrument stays blocked for new entries "
        "until a reconcile sees it flat or a restore adopts the position.",
        operator="Decide now: flatten it (`dolphin-ctl flatten --config F --instrument <id>` / BingX UI) or adopt it "
        "(restart; restore adopts external positions by config). Then find out who opened it.",
    ),
    Code.OVERFILL_DETECTED: _G(
        severity=Severity.CRITICAL,
        meaning="The venue filled more than the order or the remaining position. The book never turns that "
        "into a flip: only the remaining size is applied.",
        automatic="The excess is recorded (fills and anomalies tables) and the instrument goes to "
        "STALE_STATE_RECONCILING; the venue's quantity decides.",
        operator="Check the venue position right away; a reduce-only exit cannot overfill, so suspect a "
        "non-reduce-only order or a duplicate order. Flatten any residual manually if reconcile does not.",
    ),
    Code.FILL_AFTER_CLOSE: _G(
        severity=Severity.CRITICAL,
        meaning="A fill arrived for a trade that is already closed (or never opened). The venue position "
        "may now differ from the book.",
        automatic="The fill is recorded but not applied to the closed trade (a slot closes exactly once); "
        "the instrument is blocked and put into reconcile.",
        operator="Check the venue position for this instrument and flatten or adopt it; investigate the "
        "late fill in the fills table.",
    ),
    Code.INVALID_RESTORE: _G(
        severity=Severity.ERROR,
        meaning="A restored slot snapshot was refused (non-positive or non-finite size/price, unknown "
        "instrument, bad counters).",
        automatic="Not restored; the instrument stays flat in the book. Restore carries on with other sources.",
        operator="Read the restore report; list the bad history with `dolphin-ctl history-clean --config F` "
        "(dry run), then tombstone it with `--apply` (nothing is deleted).",
    ),
}

assert not set(TRADING_GUIDANCE) & set(LIFECYCLE_GUIDANCE), "each code has one guidance row"
assert set(TRADING_GUIDANCE) | set(LIFECYCLE_GUIDANCE) == set(Code), "every code needs operator guidance"
GUIDANCE: dict[Code, Guidance] = {code: (TRADING_GUIDANCE | LIFECYCLE_GUIDANCE)[code] for code in Code}


def guidance_table() -> list[dict[str, str]]:
    """Rows for `dolphin-ctl faults` and the docs, in taxonomy order."""
    return [
        {
            "code": code.value,
            "severity": str(g.severity),
            "meaning": g.meaning,
            "automatic": g.automatic,
            "operator": g.operator,
        }
        for code in Code
        for g in (GUIDANCE[code],)
    ]
