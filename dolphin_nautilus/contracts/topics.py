"""Message-bus topics and the bar naming every component agrees on.

- `FACTS_TOPIC`: the domain's facts (`dolphin_nautilus.domain.facts.Fact`), published by the strategy and
  read by the journal actor and the fault-log actor.
- `SIGNAL_TOPIC`: the `DolphinSignal` custom data the signal actors publish (Nautilus names the topic of a
  custom data type `data.<TypeName>*`; a test checks this string against Nautilus's own).
- The placement-outcome and venue-reconciled topics live beside their messages (`placement`, `restore`).
"""

from __future__ import annotations

FACTS_TOPIC = "dolphin.facts"
SIGNAL_TOPIC = "data.DolphinSignal*"


def bar_type_name(instrument_id: str, minutes: int) -> str:
    """The venue's closed 1..n-minute bars the strategy trades on (built by the venue, hence EXTERNAL);
    the data side (live data client, backtest bars) produces exactly these."""
    return f"{instrument_id}-{minutes}-MINUTE-LAST-EXTERNAL"
