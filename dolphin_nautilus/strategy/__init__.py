"""The Nautilus strategy that owns the trade book, and the signal plumbing around it."""
