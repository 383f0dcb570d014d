"""A BingX USDT-M perpetual swap emulator on loopback (REST, market WebSocket, listenKey user stream).

It behaves like the documented venue (reference: BingX swap v2 docs as compiled in the design notes),
not like our client. Start it with `EmulatorHandle(config).start()`, the pytest fixture
`bingx_emulator` (tests/fixtures/bingx.py) or `python -m dolphin_nautilus.bingx_emulator`.

Implemented (emulator checklist):
- Auth: X-BX-APIKEY (missing/unknown -> 100413), HMAC-SHA256 over the decoded params as sent, sorted
  a-z, or the URL-encoded bytes; query, form and JSON bodies (query wins); missing signature 100412,
  mismatch 100001, timestamp outside recvWindow (default 5000, max 60000) 100421.
- Envelope {code,msg,data} with HTTP 200 for business errors; auth errors in the {success,timestamp}
  shape; error codes of either generation (`error_generation="old"|"new"`, e.g. 80016/109421).
- Orders: snowflake int64 ids emitted as JSON numbers (> 2**53; strings in fills/positions as
  documented); clientOrderId lowercased, 1-40 chars, duplicate -> 101481, accepted as clientOrderId or
  clientOrderID; price/qty truncated to precision; min qty 101400, min notional 110425; LIMIT
  (GTC/IOC/FOK/PostOnly -> 101215), MARKET (also quoteOrderQty), STOP_MARKET / TAKE_PROFIT_MARKET
  (need a position, trigger on the feed price); one-way (BOTH) default and hedge mode with the
  documented positionSide/reduceOnly rejects (80001/109400); reduceOnly increase/flip -> 101290;
  insufficient margin -> 101204; hedge close without position -> 101205; cancel twice within 1 s -> 109201;
  cancel filled -> 80018/109422; REST statuses PENDING/CANCELLED, WS NEW/CANCELED.
- Fills: takers (MARKET, marketable LIMIT incl. IOC/FOK) walk a synthetic depth book built from each
  contract's configured liquidity (book_levels/book_level_ticks/book_level_qty): one fill per level (or
  one VWAP fill), slippage on size, the last price moves to the deepest level touched; an exhausted
  book expires the rest. Resting LIMIT orders fill at their price when the feed crosses (maker fee) in
  price-time priority (optionally capped by the printed quantity); partial fills via FillModel.
- Time from an injectable clock (clock.WallClock / ManualClock; EmulatorHandle(clock=...),
  handle.advance_clock). Funding every funding_interval_h (00/08/16 UTC): value x rate on each
  position, income FUNDING_FEE, ACCOUNT_UPDATE m=FUNDING_FEE (cross: B only; isolated: B + that P),
  fundingRate history. Liquidation at risk rate (maintenance margin / margin balance) >= 100% using the
  tier-1 maint_margin_ratio: ORDER_TRADE_UPDATE o=LIQUIDATION x=CALCULATED X=FILLED, ACCOUNT_UPDATE,
  GET trade/forceOrders, liquidatedPrice/liquidatedMarginRatio in allFillOrders, riskRate and
  liquidationPrice in positions; a negative wallet is cleared (INSURANCE_CLEAR income).
- Positions with average entry, realized PnL, fees; balance/equity/available/used/frozen margin.
- REST: server/time, contracts, tradingRules, depth (asks high->low, allowed limits), trades,
  v3+v2 klines, ticker, bookTicker, price, premiumIndex, fundingRate, openInterest, trade/order
  POST/GET/DELETE, order/test, batchOrders POST/DELETE, allOpenOrders, openOrders, openOrder,
  allOrders, fullOrder, forceOrders, allFillOrders (filledTm UTC+8 pitfall reproduced, symbol ignored),
  fillHistory (v1+v2), amend, cancelReplace, closeAllPositions, closePosition, cancelAllAfter,
  positions, balance v3+v2, commissionRate, income, leverage GET/POST, marginType GET/POST,
  positionSide/dual GET/POST, userDataStream POST/PUT/DELETE (not enveloped, 404 on unknown key).
- Rate limits: per-UID per-endpoint per-second limits and IP groups (1: 500/10s + 1000/min;
  2/3: 2000/10s group, 300/10s endpoint), X-RateLimit-Requests-Remain/-Expire headers, HTTP 429
  (or 200) with 109429 (or 100410), restriction for `penalty_s` (documented 300 s).
- Market WS: gzip binary frames, server "Ping" (gzip or text, configurable) every ping_interval_s,
  connection closed when no "Pong" for pong_timeout_s; sub/unsub acks; @trade, @depthN[@Xms],
  @kline_<i>, @bookTicker, @lastPrice, @markPrice, @ticker; 80403 past 200 topics.
- User stream on ?listenKey=: ORDER_TRADE_UPDATE (x/X/z/l/L/ap/n/rp/ps/td, partial fills),
  ACCOUNT_UPDATE (m, B[], P[] with signed pa for BOTH), ACCOUNT_CONFIG_UPDATE on connect, on
  leverage/margin changes and every config_push_interval_s; listenKeyExpired after listen_key_ttl_s;
  anything sent by the client -> 80014/109400 frame.
- Faults (FaultInjector): rate-limit storms, business rejects, HTTP 5xx, 504 with the request executed
  or not, delayed answers, delayed acks, abrupt WS drops, duplicated and reordered user events.

Not implemented: STOP/TAKE_PROFIT/TRIGGER_*/TRAILING_* order types (rejected 109400 as unsupported),
attached stopLoss/takeProfit, ADL, tiered maintenance margin (tier 1 only) and the liquidation fee /
bankruptcy-price close (liquidations close at the mark), a mark price distinct from the last price,
funding rates that move, isolated-margin wallet accounting (margin is checked per position but still
drawn from one wallet), positionMargin, incrDepth, `all@` topics, SNAPSHOT noise, USDC margin, a
depth book that other participants change (it is regenerated around the last price).
"""

from .config import ContractSpec, EmulatorConfig, FillModel, RateLimitConfig
from .faults import BusinessReject, DelayedAck, FaultInjector, HttpError, RateLimited
from .runner import EmulatorHandle

__all__ = [
    "BusinessReject",
    "ContractSpec",
    "DelayedAck",
    "EmulatorConfig",
    "EmulatorHandle",
    "FaultInjector",
    "FillModel",
    "HttpError",
    "RateLimitConfig",
    "RateLimited",
]
