import hashlib
import hmac
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest

from dolphin_nautilus.adapters.bingx.common.credentials import BingXCredentials
from dolphin_nautilus.adapters.bingx.http.client import BingXHttpClient, encoded_query, param_value, signing_payload

SECRET = "mheO6dR8ovSsxZQCOYEFCtelpuxcWGTfHw7te326y6jOwq5WpvFQ9JNljoTwBXZGv5It07m9RXSPpDQEK2w"


def test_documented_signature_vector():
    # V2DOC-2023 vector (docs/reference/bingx_api.md §2.2), recomputed by the reference author.
    creds = BingXCredentials("key", SECRET)
    assert (
        creds.sign("symbol=BTC-USDT&timestamp=1667872120843&side=LONG&leverage=6")
        == "4f581ecdb1fa09b9d6e57886b6f70cffed17f82b93399722939e49a38edec2bf"
    )


def test_payload_is_sorted_and_unencoded_while_query_is_encoded():
    params = {"symbol": "BTC-USDT", "timestamp": 1667872120843, "side": "LONG", "leverage": 6, "clientOrderId": "a:b c"}
    assert signing_payload(params) == "clientOrderId=a:b c&leverage=6&side=LONG&symbol=BTC-USDT&timestamp=1667872120843"
    assert encoded_query(params).startswith("clientOrderId=a%3Ab%20c&leverage=6")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (Decimal("1E-7"), "0.0000001"),
        (Decimal("42000.50"), "42000.5"),
        (Decimal("100"), "100"),
        (1970374651259388123, "1970374651259388123"),
    ],
)
def test_param_values(value, text):
    assert param_value(value) == text


def test_float_params_are_refused():
    with pytest.raises(TypeError, match="Decimal"):
        param_value(0.1)


def test_prepared_request_verifies_like_the_venue_does():
    client = BingXHttpClient(
        "https://example.invalid", BingXCredentials("my-key", SECRET), clock_ms=lambda: 1_700_000_000_000
    )
    # The signing step alone, offline; the emulator checks signatures end to end elsewhere.
    url, headers = client._prepare(  # noqa: SLF001
        {"symbol": "BTC-USDT", "quantity": Decimal("0.001"), "price": None}, "/p", signed=True
    )
    assert headers == {"X-BX-APIKEY": "my-key"}
    pairs = parse_qsl(urlsplit(str(url)).query, keep_blank_values=True)
    sent = dict(pairs)
    signature = sent.pop("signature")
    assert pairs[-1][0] == "signature"
    assert "price" not in sent  # None params are dropped
    assert sent["timestamp"] == "1700000000000" and sent["recvWindow"] == "5000"
    expected = hmac.new(SECRET.encode(), "&".join(f"{k}={v}" for k, v in sorted(sent.items())).encode(), hashlib.sha256)
    assert signature == expected.hexdigest()
    assert SECRET not in repr(client) and SECRET not in str(url)


def test_signed_call_without_credentials_is_a_clear_error():
    client = BingXHttpClient("https://example.invalid")
    with pytest.raises(ValueError, match="BINGX_API_KEY"):
        client._prepare({}, "/openApi/swap/v3/user/balance", signed=True)  # noqa: SLF001 - refused before sending


def test_recv_window_bounds():
    with pytest.raises(ValueError, match="recv_window_ms"):
        BingXHttpClient("https://x", recv_window_ms=120_000)
