"""Operator guidance for the codes outside trading: restore on start, node and journal, start-up refusals and
venue access, strategy counters, and the signal source (the second half of the taxonomy, from
`RESTORE_REJECTED` on; `fault_guidance.py` holds the first half and joins the two in `Code` order).
"""

from __future__ import annotations

from .fault_codes import Code, Guidance, Severity

_G = Guidance
LIFECYCLE_GUIDANCE: dict[Code, Guidance] = {
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
