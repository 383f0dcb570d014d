"""Venue adapters. Each subpackage keeps venue I/O free of Nautilus types (see DESIGN.md §2)."""
