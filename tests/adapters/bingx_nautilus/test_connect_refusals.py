"""A connect failure no restart can fix reaches the launcher typed: the BingX clients record a `VenueRefusal`
in the Nautilus cache (Nautilus itself only logs a failed connect). A real TradingNode against the emulator."""

from __future__ import annotations

import pytest
from nautilus_trader.model.identifiers import InstrumentId

from dolphin_nautilus.adapters.bingx.common.credentials import API_KEY_ENV, API_SECRET_ENV
from dolphin_nautilus.contracts.venue import VENUE_REFUSAL_CACHE_KEY, decode_venue_refusal

from .conftest import BTC, node_config, run_node, wait_for

UNLISTED = InstrumentId.from_str("DOGE-USDT-PERP.BINGX")

CASES = {
    # case: (emulator config, instruments, the node's secret or None for the emulator's, reason, code, venue code)
    "wrong secret": ({}, (BTC,), "not-the-secret", "credentials", "VENUE_CREDENTIALS_REFUSED", 100001),
    "hedge mode": ({"dual_side_position": True}, (BTC,), None, "account_mode", "VENUE_HEDGE_MODE", None),
    "unlisted instrument": ({}, (BTC, UNLISTED), None, "instruments", "INSTRUMENT_NOT_TRADABLE", None),
}


@pytest.mark.parametrize("case", CASES)
def test_connect_records_a_typed_refusal_for_the_launcher(bingx_emulator_factory, monkeypatch, case):
    emulator_config, instruments, secret, reason, code, venue_code = CASES[case]
    emulator = bingx_emulator_factory(**emulator_config)
    monkeypatch.setenv(API_KEY_ENV, emulator.api_key)
    monkeypatch.setenv(API_SECRET_ENV, secret or emulator.api_secret)

    async def scenario(node):
        await wait_for(lambda: node.kernel.cache.get(VENUE_REFUSAL_CACHE_KEY) is not None, 10.0, "a refusal")
        assert not node.trader.is_running
        return decode_venue_refusal(node.kernel.cache.get(VENUE_REFUSAL_CACHE_KEY))

    refusal = run_node(
        node_config(emulator, instruments=instruments, timeout_connection=3.0), scenario=scenario, expect_running=False
    )
    assert (refusal.reason, refusal.code, refusal.venue_code) == (reason, code, venue_code)
    assert refusal.message and refusal.ts > 0


def test_a_connect_that_may_pass_records_no_refusal(bingx_emulator_factory, monkeypatch):
    """A venue that is merely busy/unreachable is not a refusal: the supervisor's restart policy applies."""
    emulator = bingx_emulator_factory()
    monkeypatch.setenv(API_KEY_ENV, emulator.api_key)
    monkeypatch.setenv(API_SECRET_ENV, emulator.api_secret)
    config = node_config(emulator, instruments=(BTC,), timeout_connection=2.0)
    unreachable = "http://127.0.0.1:9"  # discard port: connection refused at once
    config = config.__class__(
        **{
            **{f: getattr(config, f) for f in config.__struct_fields__},
            "exec_clients": {
                "BINGX": config.exec_clients["BINGX"].__class__(
                    **{
                        **{
                            f: getattr(config.exec_clients["BINGX"], f)
                            for f in config.exec_clients["BINGX"].__struct_fields__
                        },
                        "base_url_http": unreachable,
                    }
                )
            },
        }
    )

    async def scenario(node):
        import asyncio

        await asyncio.sleep(2.5)  # past timeout_connection
        assert not node.trader.is_running
        return node.kernel.cache.get(VENUE_REFUSAL_CACHE_KEY)

    assert run_node(config, scenario=scenario, expect_running=False) is None
