"""The import graph of the whole package (emulator included) has no cycle.

grimp (import-linter's graph library) sees every import, at module level and inside functions alike, so a
cycle hidden behind a function-level import counts too. Each cycle is reported as its strongly connected
component of modules.
"""

from __future__ import annotations

import grimp

PACKAGE = "dolphin_nautilus"

# Cycles other helpers are removing right now (issue 10). Each entry is a pair of modules whose imports of
# each other are left out of the graph; delete the entry when that work lands.
KNOWN_CYCLES_BEING_FIXED = {
    # bingx_emulator: the engine builds wire frames, the wire module reads engine types (emulator helper).
    ("dolphin_nautilus.bingx_emulator.engine", "dolphin_nautilus.bingx_emulator.wire"),
    # bingx_emulator: the server owns the stream hub, the hub calls back into the server (emulator helper).
    ("dolphin_nautilus.bingx_emulator.server", "dolphin_nautilus.bingx_emulator.streams"),
    # The store service opens its stores through node.stores, which starts it (store helper, item 6).
    ("dolphin_nautilus.journal.remote", "dolphin_nautilus.node.stores"),
    ("dolphin_nautilus.journal.service", "dolphin_nautilus.node.stores"),
}


def strongly_connected(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's algorithm over the module graph: the components with more than one module are the cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def edges(module: str) -> set[str]:
        out = graph.find_modules_directly_imported_by(module)
        return {m for m in out if not _ignored(module, m)}

    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(edges(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _ignored(importer: str, imported: str) -> bool:
    return (importer, imported) in KNOWN_CYCLES_BEING_FIXED or (imported, importer) in KNOWN_CYCLES_BEING_FIXED


def test_the_package_has_no_import_cycle():
    graph = grimp.build_graph(PACKAGE)
    assert strongly_connected(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.c")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert strongly_connected(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
