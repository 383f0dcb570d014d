"""dolphin-node's exit codes (THE table: `--help`, docs/operator.md and the supervisor/systemd examples follow
it; tests check) and `LaunchError`, shared by the launcher and the node run it imports later."""

from __future__ import annotations

import msgspec

from dolphin_nautilus.domain.diagnostics import Code

EXIT_OK = 0
EXIT_FAILED = 1  # unexpected error (a bug or a crash while running): the supervisor restarts it
EXIT_CONFIG = 2  # bad config or missing credentials: restarting will not help
EXIT_LIVE_NOT_AUTHORIZED = 3  # live without the authorization phrase: restarting will not help
EXIT_STORES = 4  # namespace lease held by another node (after waiting one lease TTL), or a store unreachable / held
EXIT_NOT_TRADING = 5  # the watchdog: the trader was not running within the start-up timeout
EXIT_VENUE = 6  # the venue could not be asked (its contract list could not be read)
EXIT_CREDENTIALS = 7  # the venue refused the API credentials: restarting will not help
EXIT_ACCOUNT_MODE = 8  # the account is in hedge mode (and not configured to switch): restarting will not help
EXIT_INSTRUMENTS = 9  # a configured instrument is not a tradable perpetual at the venue: restarting will not help


class ExitCode(msgspec.Struct, frozen=True):
    meaning: str
    restart: bool  # whether a supervisor should restart the node after this exit


# THE exit-code table: `--help`, docs/operator.md and the supervisor/systemd examples follow it (tests check).
EXIT_CODES: dict[int, ExitCode] = {
    EXIT_OK: ExitCode("stopped cleanly (SIGINT/SIGTERM)", restart=False),
    EXIT_FAILED: ExitCode("unexpected error while running", restart=True),
    EXIT_CONFIG: ExitCode("bad config or missing BINGX_API_KEY/BINGX_API_SECRET", restart=False),
    EXIT_LIVE_NOT_AUTHORIZED: ExitCode("live environment without the authorization phrase", restart=False),
    EXIT_STORES: ExitCode("stores unavailable or the namespace lease is held", restart=True),
    EXIT_NOT_TRADING: ExitCode("the trader did not reach RUNNING within --startup-timeout", restart=True),
    EXIT_VENUE: ExitCode("the venue could not be asked for its contract list", restart=True),
    EXIT_CREDENTIALS: ExitCode(
        "BingX refused the API credentials (key, secret, permissions, IP whitelist)", restart=False
    ),
    EXIT_ACCOUNT_MODE: ExitCode("the BingX account is in hedge mode (bingx.switch_to_one_way is off)", restart=False),
    EXIT_INSTRUMENTS: ExitCode("an instrument is not a tradable perpetual at BingX", restart=False),
}
NO_RESTART_EXIT_CODES = tuple(code for code, exit_code in EXIT_CODES.items() if not exit_code.restart)
REFUSAL_EXIT_CODES = {
    "credentials": EXIT_CREDENTIALS,
    "account_mode": EXIT_ACCOUNT_MODE,
    "instruments": EXIT_INSTRUMENTS,
}  # contracts.venue.RefusalReason -> exit code

EXIT_CODES_HELP = "exit codes (restart: whether the supervisor examples restart the node):\n" + "".join(
    f"  {code}  {'restart   ' if exit_code.restart else 'no restart'}  {exit_code.meaning}\n"
    for code, exit_code in EXIT_CODES.items()
)


class LaunchError(Exception):
    """A refused start: the exit code, and the fault code its log line carries (diagnostics.Code)."""

    def __init__(self, exit_code: int, message: str, code: Code) -> None:
        super().__init__(message)
        self.exit_code, self.code = exit_code, code


EXIT_CODES_HELP = "exit codes (restart: whether the supervisor examples restart the node):\n" + "".join(
    f"  {code}  {'restart   ' if exit_code.restart else 'no restart'}  {exit_code.meaning}\n"
    for code, exit_code in EXIT_CODES.items()
)
