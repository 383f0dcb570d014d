"""Base URLs per environment (docs/reference/bingx_api.md §1). VST = demo trading, swap only."""

from __future__ import annotations

import msgspec

from dolphin_nautilus.adapters.bingx.common.enums import BingXEnvironment


class BingXUrls(msgspec.Struct, frozen=True):
    rest: str
    ws_market: str
    ws_user: str  # append `?listenKey=<key>`


LIVE_URLS = BingXUrls(
    rest="https://open-api.bingx.com",
    ws_market="wss://open-api-swap.bingx.com/swap-market",
    ws_user="wss://open-api-swap.bingx.com/swap-market",
)
VST_URLS = BingXUrls(
    rest="https://open-api-vst.bingx.com",
    ws_market="wss://vst-open-api-ws.bingx.com/swap-market",
    ws_user="wss://vst-open-api-ws.bingx.com/swap-market",
)


def urls_for(environment: BingXEnvironment | str) -> BingXUrls:
    env = BingXEnvironment(environment)
    return LIVE_URLS if env is BingXEnvironment.LIVE else VST_URLS


def user_stream_url(ws_user_base: str, listen_key: str) -> str:
    sep = "&" if "?" in ws_user_base else "?"
    return f"{ws_user_base}{sep}listenKey={listen_key}"
