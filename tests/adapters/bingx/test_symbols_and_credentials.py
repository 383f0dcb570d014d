import pytest

from dolphin_nautilus.adapters.bingx.common.credentials import (
    BingXCredentials,
    MissingCredentialsError,
)
from dolphin_nautilus.adapters.bingx.common.enums import BingXEnvironment
from dolphin_nautilus.adapters.bingx.common.urls import urls_for, user_stream_url
from dolphin_nautilus.adapters.bingx.symbols import base_quote, to_instrument_id, to_venue_symbol
from dolphin_nautilus.config import Secrets

SECRET = "mheO6dR8ovSsxZQCOYEFCtelpuxcWGTfHw7te326y6jOwq5WpvFQ9JNljoTwBXZGv5It07m9RXSPpDQEK2w"


@pytest.mark.parametrize("symbol", ["BTC-USDT", "1000PEPE-USDT", "ETH-USDC", "MØTH-USDT"])
def test_symbol_round_trip(symbol):
    iid = to_instrument_id(symbol)
    assert iid == f"{symbol}-PERP.BINGX"
    assert to_venue_symbol(iid) == symbol


@pytest.mark.parametrize("bad", ["btc-usdt", "BTCUSDT", "BTC-USD", "BTC-USDT-PERP", "", "BTC/USDT"])
def test_bad_symbols_are_refused_clearly(bad):
    with pytest.raises(ValueError, match="symbol"):
        to_instrument_id(bad)


@pytest.mark.parametrize("bad", ["BTC-USDT-PERP.BINANCE", "BTC-USDT.BINGX", "BTC-USDT-PERP", "btc-usdt-PERP.BINGX"])
def test_bad_instrument_ids_are_refused_clearly(bad):
    with pytest.raises(ValueError, match="instrument id"):
        to_venue_symbol(bad)


def test_base_quote():
    assert base_quote("BTC-USDT") == ("BTC", "USDT")


def test_credentials_from_secrets_and_missing_names_listed():
    secrets = Secrets.from_env({"BINGX_API_KEY": "abcdefghijkl", "BINGX_API_SECRET": SECRET})
    creds = BingXCredentials.from_secrets(secrets.bingx_api_key, secrets.bingx_api_secret)
    assert creds.api_key == "abcdefghijkl"
    with pytest.raises(MissingCredentialsError, match="BINGX_API_SECRET"):
        BingXCredentials.from_secrets("k", "")


def test_secret_never_rendered():
    creds = BingXCredentials("abcdefghijkl", SECRET)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert SECRET not in text
        assert "abcdefghijkl" not in text  # only a masked key
    assert creds.redact(f"oops {SECRET} leaked") == "oops *** leaked"
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(creds)


def test_urls_per_environment():
    assert urls_for("LIVE").rest == "https://open-api.bingx.com"
    vst = urls_for(BingXEnvironment.VST)
    assert vst.rest == "https://open-api-vst.bingx.com"
    assert vst.ws_market == "wss://vst-open-api-ws.bingx.com/swap-market"
    assert user_stream_url(vst.ws_user, "k1") == "wss://vst-open-api-ws.bingx.com/swap-market?listenKey=k1"
    with pytest.raises(ValueError):
        urls_for("TESTNET")
