"""Operator tools: `dolphin-ctl`."""
