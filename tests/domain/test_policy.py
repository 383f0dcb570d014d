"""Rule 1-3 as pure functions: what counts as dust, and how an exit request becomes an order size."""

from decimal import Decimal as D

import pytest

from dolphin_nautilus.domain import is_effectively_zero, plan_exit

from .support import ATOM, BTC, SPECS

btc, atom = SPECS[BTC], SPECS[ATOM]


@pytest.mark.parametrize(
    ("spec", "qty", "price", "zero"),
    [
        (btc, D("0"), D("50000"), True),
        (btc, D("-0.1"), D("50000"), True),
        (btc, D("0.00004"), D("50000"), True),  # rounds to zero at 4 decimals
        (atom, D("0.09"), D("10"), True),  # below min quantity 0.1 (and rounds to 0.0)
        (atom, D("0.1"), D("10"), True),  # notional 1 < min notional 2
        (atom, D("0.2"), D("10"), False),  # notional exactly 2: tradeable
        (btc, D("0.0001"), D("1e-6"), True),  # notional <= 1e-9 whatever the minimums
        (btc, D("0.001"), D("50000"), False),
    ],
)
def test_effectively_zero(spec, qty, price, zero):
    assert is_effectively_zero(spec, qty, price) is zero


def test_full_exit_when_no_quantity_given():
    plan = plan_exit(atom, D("5.0"), None, D("10"))
    assert (plan.quantity, plan.full_close, plan.clamped) == (D("5.0"), True, False)


def test_overshoot_clamps_to_remaining():
    plan = plan_exit(atom, D("5.0"), D("7.3"), D("10"))
    assert (plan.quantity, plan.full_close, plan.clamped) == (D("5.0"), True, True)


def test_partial_rounds_down_to_size_step():
    plan = plan_exit(atom, D("5.0"), D("1.27"), D("10"))
    assert (plan.quantity, plan.full_close) == (D("1.2"), False)


def test_remainder_that_would_be_dust_widens_to_full_close():
    plan = plan_exit(atom, D("5.0"), D("4.85"), D("10"))  # would leave 0.2 @ 10 = 2 notional: ok
    assert plan.full_close is False
    plan = plan_exit(atom, D("5.0"), D("4.9"), D("10"))  # would leave 0.1 @ 10 = 1 notional: dust
    assert (plan.quantity, plan.full_close, plan.dust_widened) == (D("5.0"), True, True)


def test_partial_below_minimum_with_real_remainder_is_refused():
    plan = plan_exit(atom, D("5.0"), D("0.1"), D("10"))  # 0.1 @ 10 = 1 < min notional
    assert (plan.quantity, plan.refused) == (D("0"), "BELOW_VENUE_MINIMUM")


@pytest.mark.parametrize(
    ("qty", "rounded"),
    [
        ("1e24", "1000000000000000000000000.0000"),
        ("123456789012345678901234567890.123456", "123456789012345678901234567890.1234"),
        ("0.00015", "0.0001"),
        ("-0.00015", "-0.0001"),
        ("1E-999999999", "0.0000"),
    ],
)
def test_round_qty_down_is_exact_for_any_size_and_never_overflows_the_context(qty, rounded):
    assert SPECS[BTC].round_qty_down(D(qty)) == D(rounded)


@pytest.mark.parametrize("qty", ["NaN", "Infinity", "1e301"])
def test_round_qty_down_refuses_what_is_not_a_size(qty):
    with pytest.raises(ValueError, match="not a finite size"):
        SPECS[BTC].round_qty_down(D(qty))
