"""The journal: every fact to ClickHouse (8 row families), off the hot path, nothing lost (docs/design.md §4).

Import from the modules themselves: `settings` (configs, status, errors: light), `writer` (the Journal),
`store` (the ClickHouse client). The package re-exports nothing, so importing a light part never loads the
ClickHouse client.
"""
