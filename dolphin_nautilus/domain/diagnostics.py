"""Diagnostics: the fault taxonomy (docs/design.md §3), outcomes, and the operator guidance table.

Every intent and venue event handled by the trade book returns a `BookOutcome`: a `Code`, a `Severity`, a
structured `details` dict and a human message. Outcomes at WARNING or above also become `Anomaly` facts.
`GUIDANCE` says, for every code, what it means, what the system does by itself and what the operator
should do; `dolphin-ctl faults` and the docs render it verbatim (see `guidance_table()`).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any

import msgspec


class Severity(IntEnum):
    """Ordered, so `severity >= Severity.WARNING` selects what becomes an anomaly row."""

    INFO = 10
    WARNING = 20
    ERROR = 30
    CRITICAL = 40

    def __str__(self) -> str:
        return self.name


class Code(StrEnum):
    # Success and benign notices.
    OK = "OK"
    MAX_HOLD_EXIT = "MAX_HOLD_EXIT"
    DUPLICATE_EVENT = "DUPLICATE_EVENT"
    LATE_EVENT = "LATE_EVENT"
    NO_ACTIVE_EXIT_ORDER = "NO_ACTIVE_EXIT_ORDER"
    # Refused intents (nothing sent).
    NO_OPEN_SLOT = "NO_OPEN_SLOT"
    SLOT_BUSY = "SLOT_BUSY"
    ENTRY_IN_FLIGHT = "ENTRY_IN_FLIGHT"
    EXIT_ALREADY_WORKING = "EXIT_ALREADY_WORKING"
    EXIT_ON_CLOSED_SLOT = "EXIT_ON_CLOSED_SLOT"
    BELOW_VENUE_MINIMUM = "BELOW_VENUE_MINIMUM"
    INTENT_BLOCKED = "INTENT_BLOCKED"
    INVALID_INPUT = "INVALID_INPUT"
    UNKNOWN_INSTRUMENT = "UNKNOWN_INSTRUMENT"
    # Venue faults.
    RATE_LIMITED = "RATE_LIMITED"
    RATE_LIMIT_PERSISTENT = "RATE_LIMIT_PERSISTENT"
    UNKNOWN_ORDER_OUTCOME = "UNKNOWN_ORDER_OUTCOME"
    ORDER_REJECTED = "ORDER_REJECTED"
    EXIT_ORDER_REJECTED = "EXIT_ORDER_REJECTED"
    CANCEL_REJECTED = "CANCEL_REJECTED"
    UNKNOWN_CLIENT_ORDER = "UNKNOWN_CLIENT_ORDER"
    # State divergence.
    STALE_STATE_RECONCILING = "STALE_STATE_RECONCILING"
    RECONCILE_ADJUSTED = "RECONCILE_ADJUSTED"
    VENUE_POSITION_MISMATCH = "VENUE_POSITION_MISMATCH"
    OVERFILL_DETECTED = "OVERFILL_DETECTED"
    FILL_AFTER_CLOSE = "FILL_AFTER_CLOSE"
    INVALID_RESTORE = "INVALID_RESTORE"
    # Restore on start (restore decision and the venue rules; rows in the anomalies table, lines in the report).
    RESTORE_REJECTED = "RESTORE_REJECTED"
    RESTORE_DISAGREEMENT = "RESTORE_DISAGREEMENT"
    RESTORE_WARNING = "RESTORE_WARNING"
    RESTORE_SOURCE_UNREACHABLE = "RESTORE_SOURCE_UNREACHABLE"
    RESTORE_INTERNAL_ERROR = "RESTORE_INTERNAL_ERROR"
    RESTORE_TIMEOUT = "RESTORE_TIMEOUT"
    RESTORE_TOMBSTONED = "RESTORE_TOMBSTONED"
    RESTORE_LEDGER_MISMATCH = "RESTORE_LEDGER_MISMATCH"
    RESTORE_VENUE_QUANTITY = "RESTORE_VENUE_QUANTITY"
    RESTORE_VENUE_UNCLAIMED = "RESTORE_VENUE_UNCLAIMED"
    RESTORE_VENUE_UNCLAIMED_REFUSED = "RESTORE_VENUE_UNCLAIMED_REFUSED"
    RESTORE_VENUE_UNKNOWN_INSTRUMENT = "RESTORE_VENUE_UNKNOWN_INSTRUMENT"
    RESTORE_VENUE_RECONCILED = "RESTORE_VENUE_RECONCILED"
    VENUE_UNAVAILABLE = "VENUE_UNAVAILABLE"
    RESTART_LOOP = "RESTART_LOOP"
    # Node and journal.
    NOT_TRADING = "NOT_TRADING"
    NODE_FAILED = "NODE_FAILED"
    JOURNAL_QUARANTINE = "JOURNAL_QUARANTINE"
    # Start-up refusals (dolphin-node's exit codes) and venue access.
    CONFIG_REFUSED = "CONFIG_REFUSED"
    LIVE_NOT_AUTHORIZED = "LIVE_NOT_AUTHORIZED"
    STORES_UNAVAILABLE = "STORES_UNAVAILABLE"
    LEASE_HELD = "LEASE_HELD"
    VENUE_UNREACHABLE = "VENUE_UNREACHABLE"
    VENUE_CREDENTIALS_REFUSED = "VENUE_CREDENTIALS_REFUSED"
    VENUE_HEDGE_MODE = "VENUE_HEDGE_MODE"
    INSTRUMENT_NOT_TRADABLE = "INSTRUMENT_NOT_TRADABLE"
    RESTORE_SKIPPED = "RESTORE_SKIPPED"
    VENUE_CLOCK_SKEW = "VENUE_CLOCK_SKEW"
    VENUE_READ_FAILED = "VENUE_READ_FAILED"
    VENUE_STREAM_FAULT = "VENUE_STREAM_FAULT"
    FACTS_BACKFILLED = "FACTS_BACKFILLED"
    PREVIOUS_LIFE_ORDER_CANCELED = "PREVIOUS_LIFE_ORDER_CANCELED"
    # Counters in the strategy's diagnostics and the backtest summary (no anomaly row).
    SIGNAL_BEFORE_FIRST_BAR = "SIGNAL_BEFORE_FIRST_BAR"
    RETRACT_DUST_FULL_CLOSE = "RETRACT_DUST_FULL_CLOSE"
    SIMULATED_EXIT_REJECTS = "SIMULATED_EXIT_REJECTS"
    # Signal source (docs/signals.md).
    SIGNAL_ENTRY_INVALID = "SIGNAL_ENTRY_INVALID"
    SIGNAL_UNKNOWN_INSTRUMENT = "SIGNAL_UNKNOWN_INSTRUMENT"
    SIGNAL_SOURCE_INVALID = "SIGNAL_SOURCE_INVALID"
    SIGNAL_SOURCE_TOO_LARGE = "SIGNAL_SOURCE_TOO_LARGE"


class Guidance(msgspec.Struct, frozen=True, kw_only=True):
    severity: Severity
    meaning: str
    automatic: str
    operator: str


_G = Guidance
GUIDANCE: dict[Code, Guidance] = {
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
    Code.RESTORE_REJECTED: _G(
        severity=Severity.WARNING,
        meaning="Restore refused one source's record of an open trade (bad values, unknown instrument, a "
        "legacy row it cannot read). details.kind and the report say why; raw holds an excerpt.",
        automatic="That record is not restored; restore carries on with the other sources and never halts.",
        operator="Read the restore report (`dolphin-ctl restore-report --config F`). If the rejected record "
        "keeps coming back, list it with `dolphin-ctl history-clean --config F` and tombstone it with `--apply`.",
    ),
    Code.RESTORE_DISAGREEMENT: _G(
        severity=Severity.WARNING,
        meaning="Two restore sources (live state, ClickHouse, legacy) hold different records of the same trade.",
        automatic="The newest valid record wins (details.chosen_source); the other is ignored.",
        operator="None if the chosen source is the newer one. Repeated disagreements mean a store lags: check "
        "the journal spool and the store service.",
    ),
    Code.RESTORE_WARNING: _G(
        severity=Severity.WARNING,
        meaning="Restore noticed something worth a look that changes nothing (e.g. a dust slot, a ledger "
        "in an older shape).",
        automatic="Restore goes on as reported.",
        operator="Read the warning in the restore report.",
    ),
    Code.RESTORE_SOURCE_UNREACHABLE: _G(
        severity=Severity.ERROR,
        meaning="A restore source (live state, ClickHouse, legacy table, capital ledger) could not be read.",
        automatic="Restore decides from the sources it could read and says which were missing.",
        operator="Check that store (`dolphin-ctl status`), then restart once it is reachable "
        "(`dolphin-ctl restart --config F --hard`) so restore sees every source.",
    ),
    Code.RESTORE_INTERNAL_ERROR: _G(
        severity=Severity.CRITICAL,
        meaning="The restore decision failed with an unexpected error.",
        automatic="The node starts flat in safe mode (exits only); nothing is tombstoned.",
        operator="File the error from the restore report and the node log. Check the venue positions "
        "(`dolphin-ctl positions --config F`) and flatten what the node does not manage.",
    ),
    Code.RESTORE_TIMEOUT: _G(
        severity=Severity.CRITICAL,
        meaning="Reading the restore sources took longer than restore.timeout_s.",
        automatic="The node starts flat in safe mode (exits only) instead of hanging.",
        operator="Find the slow store (`dolphin-ctl status`), fix it, restart. Meanwhile check the venue "
        "positions (`dolphin-ctl positions --config F`).",
    ),
    Code.RESTORE_TOMBSTONED: _G(
        severity=Severity.WARNING,
        meaning="A trade a store still showed OPEN was not restored (the venue is flat there, or it was "
        "rejected); restore wrote a TOMBSTONED row so it is not seen again.",
        automatic="The trade is closed in the stores; nothing is deleted.",
        operator="None; the report says why for each trade.",
    ),
    Code.RESTORE_LEDGER_MISMATCH: _G(
        severity=Severity.WARNING,
        meaning="A restored trade's persisted fills and exit legs do not fold to its position_state snapshot "
        "(fills missing, e.g. a legacy trade or a kill -9 before they were journaled, or numbers that disagree). "
        "details name the fields that differ.",
        automatic="The trade is restored from the snapshot's totals (size, entry price, fees, realized PnL, leg "
        "count); its earlier exits become one lump entry, so its average exit price is approximate.",
        operator="None for legacy trades. Otherwise compare the trade's fills and position_state rows "
        "(`dolphin-ctl restore-report --config F`); a store that lags shows in the journal spool.",
    ),
    Code.RESTORE_VENUE_QUANTITY: _G(
        severity=Severity.WARNING,
        meaning="A restored trade's quantity differs from the venue position's.",
        automatic="The venue's quantity wins; the slot is restored with it.",
        operator="Look for a fill the journal missed (fills table, venue trade history).",
    ),
    Code.RESTORE_VENUE_UNCLAIMED: _G(
        severity=Severity.WARNING,
        meaning="The venue holds a position on a configured instrument that no restored trade owns (another "
        "node on the same account, manual trading, or history lost). restore.unclaimed_venue_position is "
        "'adopt' or 'flatten'.",
        automatic="'adopt': it becomes an external slot (trade id x...) that the strategy manages and exits. "
        "'flatten': it is adopted and closed at once with a reduce-only order. The report header says so.",
        operator="Find out who opened it. If another deployment trades the same account, stop one of them "
        '(`dolphin-ctl mode-verify`); set `unclaimed_venue_position = "refuse"` where adoption is wrong.',
    ),
    Code.RESTORE_VENUE_UNCLAIMED_REFUSED: _G(
        severity=Severity.ERROR,
        meaning="The venue holds a position no restored trade owns and the config forbids adopting it "
        "(restore.unclaimed_venue_position = 'refuse', the live default).",
        automatic="The position is left alone at the venue and the node runs in safe mode (exits only) "
        "until the operator decides.",
        operator="Decide: close it with `dolphin-ctl flatten --config F` (dry run, then `--apply`), or "
        'set `unclaimed_venue_position = "adopt"` and restart. Then find out who opened it.',
    ),
    Code.RESTORE_VENUE_UNKNOWN_INSTRUMENT: _G(
        severity=Severity.ERROR,
        meaning="The venue holds a position on an instrument this node is not configured for.",
        automatic="Left alone: the node never trades an instrument outside its config.",
        operator="Close it at the venue (BingX UI, or a config that lists it and `dolphin-ctl flatten`), or "
        "add the instrument to strategy.instruments if it is ours.",
    ),
    Code.RESTORE_VENUE_RECONCILED: _G(
        severity=Severity.WARNING,
        meaning="The venue answered only after restore had started without it (see VENUE_UNAVAILABLE).",
        automatic="The running strategy is reconciled with the venue positions and safe mode is lifted.",
        operator="None.",
    ),
    Code.VENUE_UNAVAILABLE: _G(
        severity=Severity.ERROR,
        meaning="Restore could not read the venue positions on start.",
        automatic="Restored slots are kept (not treated as flat); safe mode (exits only) until the venue "
        "answers; restore retries every few seconds.",
        operator="Check connectivity and credentials to BingX; the node clears it by itself once the venue "
        "answers (RESTORE_VENUE_RECONCILED).",
    ),
    Code.RESTART_LOOP: _G(
        severity=Severity.CRITICAL,
        meaning="The node started more than restore.restart_max times within restore.restart_window_s.",
        automatic="This start runs in safe mode (exits only) so a crashing node stops looping.",
        operator="Follow the 'Restart loop' runbook in docs/operator.md.",
    ),
    Code.NOT_TRADING: _G(
        severity=Severity.CRITICAL,
        meaning="The trader was not RUNNING within --startup-timeout (a client did not connect, or "
        "reconciliation failed); the message names the client.",
        automatic="dolphin-node exits 5; the supervisor restarts it with backoff.",
        operator="Check venue connectivity and credentials; read the node log lines before it.",
    ),
    Code.NODE_FAILED: _G(
        severity=Severity.CRITICAL,
        meaning="dolphin-node stopped on an unexpected error (the log line carries the traceback).",
        automatic="Exit 1; the supervisor restarts it; the restore actor rebuilds the open trades.",
        operator="File the traceback. If it repeats, see the 'Restart loop' runbook.",
    ),
    Code.JOURNAL_QUARANTINE: _G(
        severity=Severity.ERROR,
        meaning="ClickHouse refused a journal row; it was written to the spool's quarantine file instead.",
        automatic="Nothing is lost: the row is in quarantine.jsonl; the journal carries on with the rest.",
        operator="Read the quarantine file named in details.file and file the error; the rows can be "
        "re-inserted by hand once fixed.",
    ),
    Code.CONFIG_REFUSED: _G(
        severity=Severity.CRITICAL,
        meaning="dolphin-node refused to start: the config is invalid, or BINGX_API_KEY / BINGX_API_SECRET are "
        "missing, or an option is refused for this environment; the message names what.",
        automatic="dolphin-node exits 2; the supervisor examples do not restart it.",
        operator="Fix the config or the environment as the message says, then start the node by hand.",
    ),
    Code.LIVE_NOT_AUTHORIZED: _G(
        severity=Severity.CRITICAL,
        meaning="A live config was started without the live authorization phrase.",
        automatic="dolphin-node exits 3 before opening anything; it is not restarted.",
        operator="Set DOLPHIN_LIVE_AUTHORIZATION as the message says if real-money trading is intended.",
    ),
    Code.STORES_UNAVAILABLE: _G(
        severity=Severity.CRITICAL,
        meaning="A store (ClickHouse, Hazelcast, the store service) could not be opened on start, or did not "
        "close cleanly on stop; the message names it.",
        automatic="On start, dolphin-node exits 4 and the supervisor restarts it with backoff. On stop, the "
        "spool keeps whatever did not reach ClickHouse and sends it on the next start.",
        operator="Check the store named in the message (running, reachable, disk space).",
    ),
    Code.LEASE_HELD: _G(
        severity=Severity.CRITICAL,
        meaning="The namespace lease is held by another node (a different holder identity: another host or "
        "state dir). A restart of this node takes over its own previous life's lease at once.",
        automatic="dolphin-node waits in-process up to the lease TTL + 5 s (one waiting_for_lease line), then "
        "exits 4; the supervisor restarts it with backoff.",
        operator="If another node of this namespace runs, stop one of them (`dolphin-ctl status` names the "
        "holder); otherwise it clears within the lease TTL.",
    ),
    Code.VENUE_UNREACHABLE: _G(
        severity=Severity.ERROR,
        meaning="The BingX REST API could not be asked on start (network, DNS, venue outage, a wrong "
        "[bingx] rest_url).",
        automatic="dolphin-node exits 6; the supervisor restarts it with backoff.",
        operator="Check the network and the [bingx] URLs; BingX status if it persists.",
    ),
    Code.VENUE_CREDENTIALS_REFUSED: _G(
        severity=Severity.CRITICAL,
        meaning="BingX refused the API credentials (wrong key or secret, key deleted, IP not whitelisted, "
        "no permission for perpetual futures, account restricted); the message carries the venue code.",
        automatic="Start-up ends at once with exit 7; the supervisor examples do not restart it (a restart "
        "cannot fix credentials).",
        operator="Check BINGX_API_KEY / BINGX_API_SECRET for this environment (vst and live keys differ), the "
        "key's permissions and IP whitelist in the BingX API management page; then start the node by hand.",
    ),
    Code.VENUE_HEDGE_MODE: _G(
        severity=Severity.CRITICAL,
        meaning="The BingX account is in hedge (dual-side) position mode; dolphin trades one-way only.",
        automatic="With bingx.switch_to_one_way = true the node switches the account (WARNING) and goes on; "
        "otherwise start-up ends at once with exit 8, not restarted.",
        operator="Switch the account to one-way mode in BingX (no open positions or orders allowed), or set "
        "bingx.switch_to_one_way = true; then start the node by hand.",
    ),
    Code.INSTRUMENT_NOT_TRADABLE: _G(
        severity=Severity.CRITICAL,
        meaning="A configured instrument is not a tradable USDT-M perpetual at BingX (unknown, offline or suspended).",
        automatic="Start-up ends at once with exit 9, not restarted.",
        operator="Fix strategy.instruments (the message lists the instruments), then start the node by hand.",
    ),
    Code.RESTORE_SKIPPED: _G(
        severity=Severity.WARNING,
        meaning="The node was started with --without-restore (vst only): it starts flat, nothing restored.",
        automatic="Open venue positions are not adopted into slots by the restore actor.",
        operator="None, if a fresh paper account was intended.",
    ),
    Code.VENUE_CLOCK_SKEW: _G(
        severity=Severity.WARNING,
        meaning="This host's clock is off BingX server time by more than half the recvWindow, or the venue "
        "refused a request for its timestamp (100421).",
        automatic="Requests are signed with the measured server-time offset; on 100421 the offset is "
        "measured again and the request sent once more.",
        operator="Keep the host's clock synchronised (NTP/chrony). None if it is rare.",
    ),
    Code.VENUE_READ_FAILED: _G(
        severity=Severity.WARNING,
        meaning="A venue read (balance, order status, an order's fills, commission rate) failed; the message "
        "carries the venue's answer.",
        automatic="The read is repeated on the next trigger and by the periodic reconciliation; nothing is "
        "assumed from the failed read.",
        operator="None if occasional; if it repeats, check connectivity and the venue code in the message.",
    ),
    Code.VENUE_STREAM_FAULT: _G(
        severity=Severity.WARNING,
        meaning="A BingX WebSocket stream failed: connection lost or silent, an unreadable payload, a venue "
        "error frame, a refused subscription or a failed listenKey extension.",
        automatic="The stream reconnects with backoff and resubscribes; after a user-stream reconnect open "
        "orders and fills are re-read over REST.",
        operator="None if occasional; if it repeats, check connectivity to the WebSocket host.",
    ),
    Code.FACTS_BACKFILLED: _G(
        severity=Severity.WARNING,
        meaning="The back-fill found orders or fills of ours in the venue's history that ClickHouse lacked (a "
        "kill -9 lost them before they were journaled) and wrote them, with the entries, exit legs, closed "
        "trades and snapshots they imply.",
        automatic="Written once, with the row ids a live write has (fills) or keyed by the venue's ids (the "
        "rest); a back-fill repeated over the same history writes nothing.",
        operator="None after a crash. Without a crash, report it: the live path lost a fact.",
    ),
    Code.PREVIOUS_LIFE_ORDER_CANCELED: _G(
        severity=Severity.WARNING,
        meaning="After a restart, an order a previous life of the node sent was still working at the venue "
        "(recognised by our client-order prefix and its start epoch) and was cancelled.",
        automatic="Cancelled after start-up reconciliation, re-read from the venue; what it filled before is "
        "back-filled and the restored slot follows the venue position.",
        operator="None.",
    ),
    Code.SIGNAL_BEFORE_FIRST_BAR: _G(
        severity=Severity.INFO,
        meaning="A signal arrived before the first bar of its instrument (a counter).",
        automatic="The signal is dropped; the next one after a bar is acted on.",
        operator="None, unless it keeps counting: then market data is not arriving (check the WS feed).",
    ),
    Code.RETRACT_DUST_FULL_CLOSE: _G(
        severity=Severity.INFO,
        meaning="A retract would have left less than the venue minimum, so it became a full close (a counter).",
        automatic="The whole position was exited instead of leaving dust.",
        operator="None.",
    ),
    Code.SIMULATED_EXIT_REJECTS: _G(
        severity=Severity.INFO,
        meaning="Backtest only: exit orders the simulated venue rejected on purpose "
        "(backtest.reject_exit_every), to exercise the reject path (a counter in the summary).",
        automatic="Each is handled as EXIT_ORDER_REJECTED.",
        operator="None.",
    ),
    Code.SIGNAL_ENTRY_INVALID: _G(
        severity=Severity.WARNING,
        meaning="A signal entry is not an object, or its target is not a number in [-1, 1], its strength not a "
        "number in [0, 1], or its ts not an integer number of ns in [0, 2**63).",
        automatic="That entry is ignored (the instrument keeps its last valid target); every other entry is "
        "applied. Logged once per change of the bad entry.",
        operator="Fix the writer of the signal source (see docs/signals.md for the format). Until then the "
        "instrument keeps acting on its last valid target.",
    ),
    Code.SIGNAL_UNKNOWN_INSTRUMENT: _G(
        severity=Severity.WARNING,
        meaning="A signal entry's key is not one of the node's configured instrument ids (e.g. 'BTCUSDT' "
        "instead of 'BTC-USDT-PERP.BINGX', or an instrument not in strategy.instruments).",
        automatic="That entry is ignored; every other entry is applied.",
        operator="Write the entry under the full instrument id, or add the instrument to strategy.instruments "
        "and restart.",
    ),
    Code.SIGNAL_SOURCE_INVALID: _G(
        severity=Severity.ERROR,
        meaning="The signal source as a whole is unusable: the file is not JSON, or its top level is not an "
        "object keyed by instrument id (e.g. a list).",
        automatic="No entry is read from it this poll; every instrument keeps its last valid target. Polled "
        "again next interval.",
        operator="Rewrite the file as one JSON object (docs/signals.md); write it to a temporary file and "
        "rename it into place so the node never reads half a file.",
    ),
    Code.SIGNAL_SOURCE_TOO_LARGE: _G(
        severity=Severity.ERROR,
        meaning="The signal file is over the size limit (1 MB): it is not read at all.",
        automatic="No entry is read from it until it shrinks; every instrument keeps its last valid target.",
        operator="Keep one entry per instrument (the latest target only, no history) in the signal source.",
    ),
}

assert set(GUIDANCE) == set(Code), "every code needs operator guidance"


class BookOutcome(msgspec.Struct, frozen=True, kw_only=True):
    code: Code
    severity: Severity
    message: str = ""
    details: dict[str, Any] = msgspec.field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.code is Code.OK or self.code is Code.MAX_HOLD_EXIT


def book_outcome(code: Code, message: str = "", severity: Severity | None = None, **details: Any) -> BookOutcome:
    """An outcome at the code's default severity (from `GUIDANCE`) unless one is given."""
    return BookOutcome(
        code=code,
        severity=GUIDANCE[code].severity if severity is None else severity,
        message=message,
        details=details,
    )


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
