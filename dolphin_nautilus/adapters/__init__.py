"""Venue adapters. Each subpackage keeps venue I/O free of Nautilus types (see docs/design.md §2)."""
