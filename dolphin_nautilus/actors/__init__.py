"""The Nautilus actors of a dolphin node: restore, journal hand-over, fault log, node control, signals.

Each takes only its Nautilus config; the logic it drives lives in journal/state/restore (no actors there).
Nothing is imported here, so a plain module of this package never loads Nautilus by accident.
"""
