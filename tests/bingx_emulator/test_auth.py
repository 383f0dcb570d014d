"""Signature, API key and timestamp checks with real HMAC-SHA256 signatures."""

from __future__ import annotations

import time

from .venue import Venue, run, signature

BALANCE = "/openApi/swap/v3/user/balance"


def test_documented_test_vector_signs_as_documented():
    secret = "mheO6dR8ovSsxZQCOYEFCtelpuxcWGTfHw7te326y6jOwq5WpvFQ9JNljoTwBXZGv5It07m9RXSPpDQEK2w"
    payload = "symbol=BTC-USDT&timestamp=1667872120843&side=LONG&leverage=6"
    assert signature(secret, payload) == "4f581ecdb1fa09b9d6e57886b6f70cffed17f82b93399722939e49a38edec2bf"


def test_wrong_secret_is_100001_in_the_auth_error_shape(bingx_emulator):
    reply = run(bingx_emulator, lambda v: v.signed("GET", BALANCE, secret="not-the-secret"))
    assert reply.status == 200 and reply.code == 100001
    assert reply.json["success"] is False and "timestamp" in reply.json


def test_missing_signature_is_100412_and_unknown_key_100413(bingx_emulator):
    async def scenario(venue: Venue):
        return (
            await venue.signed("GET", BALANCE, sign=False),
            await venue.signed("GET", BALANCE, api_key="someone-else"),
            await venue.signed("GET", BALANCE, api_key=""),
        )

    unsigned, unknown, empty = run(bingx_emulator, scenario)
    assert unsigned.code == 100412 and unknown.code == 100413 and empty.code == 100413


def test_timestamp_outside_recv_window_is_100421_and_recv_window_widens_it(bingx_emulator):
    skewed = int(time.time() * 1000) - 8000

    async def scenario(venue: Venue):
        return (
            await venue.signed("GET", BALANCE, timestamp=skewed),
            await venue.signed("GET", BALANCE, {"recvWindow": 10000}, timestamp=skewed),
            await venue.signed("GET", BALANCE, {"recvWindow": 120000}),
        )

    stale, widened, too_wide = run(bingx_emulator, scenario)
    assert stale.code == 100421
    assert widened.code == 0
    assert too_wide.code == 109400


def test_server_clock_offset_makes_client_time_stale(bingx_emulator):
    bingx_emulator.set_clock_offset_ms(6000)
    assert run(bingx_emulator, lambda v: v.signed("GET", BALANCE)).code == 100421


def test_unsorted_query_and_form_body_signatures_are_accepted(bingx_emulator):
    async def scenario(venue: Venue):
        ts = str(int(time.time() * 1000))
        as_sent = f"symbol=BTC-USDT&timestamp={ts}&side=BOTH&leverage=6"  # not sorted
        url = f"{bingx_emulator.rest_url}/openApi/swap/v2/trade/leverage?{as_sent}&signature=" + signature(
            bingx_emulator.api_secret, as_sent
        )
        async with venue.session.post(url, headers={"X-BX-APIKEY": bingx_emulator.api_key}) as resp:
            unsorted = await resp.json()
        form = await venue.signed(
            "POST",
            "/openApi/swap/v2/trade/leverage",
            {"symbol": "ETH-USDT", "side": "BOTH", "leverage": 7},
            form_body=True,
        )
        return unsorted, form

    unsorted, form = run(bingx_emulator, scenario)
    assert unsorted["code"] == 0 and unsorted["data"]["leverage"] == 6
    assert form.code == 0 and form.data["leverage"] == 7
    leverage = bingx_emulator.state.leverage
    assert leverage[("BTC-USDT", "BOTH")] == 6 and leverage[("ETH-USDT", "BOTH")] == 7


def test_tampered_param_after_signing_fails(bingx_emulator):
    async def scenario(venue: Venue):
        ts = str(int(time.time() * 1000))
        signed = f"quantity=0.001&side=BUY&symbol=BTC-USDT&timestamp={ts}&type=MARKET&positionSide=BOTH"
        sig = signature(bingx_emulator.api_secret, signed)
        url = (
            f"{bingx_emulator.rest_url}/openApi/swap/v2/trade/order?{signed.replace('0.001', '0.002')}&signature={sig}"
        )
        async with venue.session.post(url, headers={"X-BX-APIKEY": bingx_emulator.api_key}) as resp:
            return await resp.json()

    assert run(bingx_emulator, scenario)["code"] == 100001
    assert bingx_emulator.state.orders == {}
