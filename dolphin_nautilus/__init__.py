"""dolphin_nautilus: a NautilusTrader plugin trading BingX USDT-M perpetual swaps."""

__version__ = "0.1.0"
