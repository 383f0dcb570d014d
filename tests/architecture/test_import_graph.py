"""The import graph of the whole package (emulator included) has no cycle.

grimp (import-linter's graph library) sees every import, at module level and inside functions alike, so a
cycle hidden behind a function-level import counts too; the standard library's `graphlib` finds the cycle.
Imports under `if TYPE_CHECKING:` are left out: they never run, so they cannot make an import-order cycle
(the domain's slot and its order records name each other's types that way).
Imports from a package's `__init__` of its own submodules (re-exports) are left out: a package importing its
children is how a package is built, not a cycle between components.
"""

from __future__ import annotations

import graphlib

import grimp

PACKAGE = "dolphin_nautilus"


def first_cycle(graph: grimp.ImportGraph) -> list[str] | None:
    sorter = graphlib.TopologicalSorter()
    for module in sorted(graph.modules):
        imported = graph.find_modules_directly_imported_by(module)
        sorter.add(module, *(m for m in imported if not m.startswith(module + ".")))
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        return list(exc.args[1])
    return None


def test_the_package_has_no_import_cycle():
    assert first_cycle(grimp.build_graph(PACKAGE, exclude_type_checking_imports=True)) is None


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert sorted(first_cycle(graph)[:-1]) == ["pkg.a", "pkg.b", "pkg.c"]
