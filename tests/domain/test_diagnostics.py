"""The taxonomy and its operator guidance are complete and consistent with docs/design.md §3."""

from dolphin_nautilus.domain import GUIDANCE, Code, Severity, book_outcome, guidance_table


def test_every_code_has_written_guidance():
    for code in Code:
        g = GUIDANCE[code]
        assert len(g.meaning) > 20 and g.automatic and g.operator, code


def test_design_severities():
    expected = {
        Code.RATE_LIMITED: Severity.WARNING,
        Code.ORDER_REJECTED: Severity.WARNING,
        Code.EXIT_ORDER_REJECTED: Severity.ERROR,
        Code.CANCEL_REJECTED: Severity.WARNING,
        Code.NO_ACTIVE_EXIT_ORDER: Severity.INFO,
        Code.STALE_STATE_RECONCILING: Severity.WARNING,
        Code.DUPLICATE_EVENT: Severity.INFO,
        Code.RATE_LIMIT_PERSISTENT: Severity.ERROR,
    }
    for code, severity in expected.items():
        assert GUIDANCE[code].severity is severity


def test_outcome_uses_default_severity_unless_overridden():
    assert book_outcome(Code.EXIT_ORDER_REJECTED).severity is Severity.ERROR
    assert book_outcome(Code.STALE_STATE_RECONCILING, severity=Severity.INFO).severity is Severity.INFO
    assert book_outcome(Code.OK).ok and not book_outcome(Code.ORDER_REJECTED).ok


def test_guidance_table_rows_for_the_cli():
    rows = guidance_table()
    assert [r["code"] for r in rows] == [c.value for c in GUIDANCE]
    assert set(rows[0]) == {"code", "severity", "meaning", "automatic", "operator"}
    assert rows[[r["code"] for r in rows].index("EXIT_ORDER_REJECTED")]["severity"] == "ERROR"
