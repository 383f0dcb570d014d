"""Server time (docs/reference/bingx_api.md §2.3): the client signs with the measured server-time offset, measures it
before its first
signed request and periodically, and heals a 100421 answer by measuring again and sending once more. Against
the loopback emulator with its clock skewed (`clock_offset_ms`), far outside the 5 s recvWindow."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.errors import BingXAuthError, Operation
from dolphin_nautilus.adapters.bingx.http import BingXAccountHttpAPI, BingXHttpClient
from dolphin_nautilus.config import Secrets
from dolphin_nautilus.logs import LOGGER_NAME, setup_logging
from tests.adapters.bingx.conftest import run

SKEW_MS = 30_000  # six recvWindows: unsynchronised, every signed request is refused with 100421


def client_for(emulator, **kw) -> BingXHttpClient:
    return BingXHttpClient(
        emulator.rest_url, BingXCredentials(emulator.api_key, emulator.api_secret), timeout_s=5.0, **kw
    )


def test_a_skewed_venue_clock_is_measured_before_the_first_signed_request(bingx_emulator_factory):
    emulator = bingx_emulator_factory(clock_offset_ms=SKEW_MS)

    async def body():
        client = client_for(emulator)
        try:
            balances = await BingXAccountHttpAPI(client).balances()
            assert balances and client.time_syncs == 1
            assert abs(client.time_offset_ms - SKEW_MS) < 2_000
            await BingXAccountHttpAPI(client).positions()
            assert client.time_syncs == 1, "one measurement serves every request within the interval"
        finally:
            await client.close()

    run(body())


def test_without_the_offset_the_venue_refuses_the_timestamp(bingx_emulator_factory):
    """The control: the emulator really refuses an unsynchronised clock (what the guard is for)."""
    emulator = bingx_emulator_factory(clock_offset_ms=SKEW_MS)

    async def body():
        client = client_for(emulator)
        try:
            client._synced_at = float("inf")  # noqa: SLF001 - pretend a measurement of 0 ms was just taken
            with pytest.raises(BingXAuthError) as refused:
                await _signed_once(client)
            assert refused.value.code == 100421
        finally:
            await client.close()

    run(body())


async def _signed_once(client: BingXHttpClient):
    """One signed request without the 100421 heal: the envelope check of a raw `send`."""
    result = await client.send("GET", "/openApi/swap/v3/user/balance")
    return client._unwrap(result, "GET", "/openApi/swap/v3/user/balance", True, Operation.READ)  # noqa: SLF001


def test_a_clock_jump_is_healed_by_one_resync_and_one_resend(bingx_emulator_factory, tmp_path):
    emulator = bingx_emulator_factory()
    stream = io.StringIO()

    async def body():
        client = client_for(emulator)
        try:
            await BingXAccountHttpAPI(client).balances()
            assert client.time_syncs == 1 and abs(client.time_offset_ms) < 2_000
            emulator.set_clock_offset_ms(-SKEW_MS)  # the venue's clock jumps; our offset is now 30 s wrong
            assert await BingXAccountHttpAPI(client).balances()
            assert client.time_syncs == 2 and abs(client.time_offset_ms + SKEW_MS) < 2_000
        finally:
            await client.close()

    setup_logging(tmp_path, "INFO", Secrets(), stream=stream)  # the node's JSON logging, into a buffer
    try:
        run(body())
    finally:
        close_node_logging()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    skew = [line for line in lines if line["event"] == "clock_skew"]
    assert skew and all(line["code"] == "VENUE_CLOCK_SKEW" for line in skew), lines


def test_the_offset_is_measured_again_every_interval(bingx_emulator_factory):
    emulator = bingx_emulator_factory(clock_offset_ms=SKEW_MS)

    async def body():
        client = client_for(emulator, time_sync_interval_s=0.2)
        try:
            await BingXAccountHttpAPI(client).balances()
            emulator.set_clock_offset_ms(2 * SKEW_MS)  # drift: the periodic measurement follows it, no refusal
            await asyncio.sleep(0.3)
            await BingXAccountHttpAPI(client).balances()
            assert client.time_syncs == 2 and abs(client.time_offset_ms - 2 * SKEW_MS) < 2_000
        finally:
            await client.close()

    run(body())


def close_node_logging() -> None:
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
