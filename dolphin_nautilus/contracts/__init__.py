"""The bottom layer: what crosses component boundaries (cache keys, message-bus topics, typed messages).

Nothing here imports anything else of dolphin_nautilus, nor NautilusTrader: every component may depend on
this package, and it depends on none of them.
"""
