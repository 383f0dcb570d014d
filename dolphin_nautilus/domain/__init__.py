"""Pure domain core: trade slots, the retract policy, diagnostics and the facts they emit.

No I/O and no Nautilus imports here: the strategy adapts Nautilus events to these types.
"""
