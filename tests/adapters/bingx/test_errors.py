import pytest

from dolphin_nautilus.adapters.bingx.errors import (
    ERROR_CODES,
    BingXAuthError,
    BingXOrderNotFoundError,
    BingXRateLimitError,
    BingXRejectError,
    BingXRetryableError,
    BingXUnknownOutcomeError,
    ErrorKind,
    Operation,
    VenueOutcome,
    error_from_code,
    kind_of_http_status,
    make_error,
)
from dolphin_nautilus.domain.diagnostics import Code

# Old (pre 2025-10-16) and new code for the same meaning must classify the same (docs/reference/bingx_api.md §7.2).
RENUMBERED = [
    (80016, 109421),
    (80014, 109400),
    (80001, 109400),
    (80018, 109422),
    (80019, 109423),
    (100410, 109429),
    (100409, 109429),
    (80020, 109403),
    (80012, 109500),
]


@pytest.mark.parametrize(("old", "new"), RENUMBERED)
@pytest.mark.parametrize("op", list(Operation))
def test_both_generations_classify_alike(old, new, op):
    msg = "system busy" if old == 80012 else "x"
    a, b = error_from_code(old, msg, op), error_from_code(new, msg, op)
    assert (a.outcome, a.fault, type(a)) == (b.outcome, b.fault, type(b))


# (code, operation) -> (outcome, fault, exception class)
TABLE = [
    (109429, Operation.PLACE, VenueOutcome.RETRYABLE, Code.RATE_LIMITED, BingXRateLimitError),
    (100410, Operation.READ, VenueOutcome.RETRYABLE, Code.RATE_LIMITED, BingXRateLimitError),
    (101204, Operation.PLACE, VenueOutcome.DEFINITIVE_REJECT, Code.ORDER_REJECTED, BingXRejectError),
    (101290, Operation.PLACE_EXIT, VenueOutcome.DEFINITIVE_REJECT, Code.EXIT_ORDER_REJECTED, BingXRejectError),
    (110425, Operation.PLACE, VenueOutcome.DEFINITIVE_REJECT, Code.ORDER_REJECTED, BingXRejectError),
    (109421, Operation.CANCEL, VenueOutcome.DEFINITIVE_REJECT, Code.CANCEL_REJECTED, BingXOrderNotFoundError),
    (80016, Operation.READ, VenueOutcome.DEFINITIVE_REJECT, None, BingXOrderNotFoundError),
    (109201, Operation.CANCEL, VenueOutcome.UNKNOWN_OUTCOME, Code.CANCEL_REJECTED, BingXUnknownOutcomeError),
    (101481, Operation.PLACE, VenueOutcome.UNKNOWN_OUTCOME, Code.STALE_STATE_RECONCILING, BingXUnknownOutcomeError),
    (101500, Operation.PLACE, VenueOutcome.UNKNOWN_OUTCOME, Code.STALE_STATE_RECONCILING, BingXUnknownOutcomeError),
    (101500, Operation.READ, VenueOutcome.RETRYABLE, None, BingXRetryableError),
    (
        109500,
        Operation.PLACE_EXIT,
        VenueOutcome.UNKNOWN_OUTCOME,
        Code.STALE_STATE_RECONCILING,
        BingXUnknownOutcomeError,
    ),
    (109500, Operation.READ, VenueOutcome.RETRYABLE, None, BingXRetryableError),
    (100001, Operation.PLACE, VenueOutcome.DEFINITIVE_REJECT, Code.ORDER_REJECTED, BingXAuthError),
    (100421, Operation.READ, VenueOutcome.DEFINITIVE_REJECT, None, BingXAuthError),
    (999999, Operation.PLACE, VenueOutcome.DEFINITIVE_REJECT, Code.ORDER_REJECTED, BingXRejectError),  # unknown code
]


@pytest.mark.parametrize(("code", "op", "outcome", "fault", "cls"), TABLE)
def test_error_table(code, op, outcome, fault, cls):
    err = error_from_code(code, "venue says no", op, endpoint="POST /x")
    assert (err.outcome, err.fault) == (outcome, fault)
    assert type(err) is cls
    assert err.code == code and "venue says no" in str(err) and f"code={code}" in str(err)


def test_message_disambiguates_shared_codes():
    assert error_from_code(80012, "margin is not enough", Operation.PLACE).outcome is VenueOutcome.DEFINITIVE_REJECT
    assert error_from_code(80012, "The system is busy", Operation.PLACE).outcome is VenueOutcome.UNKNOWN_OUTCOME
    err = error_from_code(100421, "This pair is currently restricted from API trading", Operation.PLACE)
    assert err.kind is ErrorKind.REJECT and not isinstance(err, BingXAuthError)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (429, ErrorKind.RATE_LIMIT),
        (418, ErrorKind.RATE_LIMIT),
        (504, ErrorKind.BUSY),
        (500, ErrorKind.BUSY),
        (401, ErrorKind.AUTH),
        (404, ErrorKind.REJECT),
        (200, None),
    ],
)
def test_http_status_kinds(status, kind):
    assert kind_of_http_status(status) is kind


def test_504_on_placement_is_unknown_outcome_but_never_sent_is_retryable():
    sent = make_error(kind=ErrorKind.BUSY, operation=Operation.PLACE, code=None, msg="HTTP 504", http_status=504)
    assert isinstance(sent, BingXUnknownOutcomeError) and sent.fault is Code.STALE_STATE_RECONCILING
    unsent = make_error(kind=ErrorKind.BUSY, operation=Operation.PLACE, code=None, msg="connect refused", sent=False)
    assert isinstance(unsent, BingXRetryableError) and unsent.outcome is VenueOutcome.RETRYABLE


def test_rate_limit_error_carries_cooldown_in_details():
    err = make_error(kind=ErrorKind.RATE_LIMIT, operation=Operation.PLACE, code=109429, msg="", retry_after_ms=1500)
    assert err.details["retry_after_ms"] == 1500 and "retry_after_ms=1500" in str(err)
    assert "BingXRateLimitError" in repr(err)


def test_every_mapped_code_has_a_meaning():
    assert all(meaning for _, meaning in ERROR_CODES.values())
