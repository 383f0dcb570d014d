"""Benchmarks: commands that print figures (python -m dolphin_nautilus.bench.<name>)."""
