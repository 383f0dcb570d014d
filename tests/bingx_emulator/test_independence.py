"""The emulator is the independent check of the adapter: it imports only the standard library, third-party
libraries and its own modules, its modules import each other without cycles, and an import inside a
function says why on its line."""

from __future__ import annotations

import ast
import graphlib
import pathlib

import dolphin_nautilus.bingx_emulator as emulator

PACKAGE = "dolphin_nautilus.bingx_emulator"
ROOT = pathlib.Path(emulator.__file__).parent
FIRST_PARTY = "dolphin_nautilus"


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(), str(p)) for p in sorted(ROOT.glob("*.py"))}


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> list[str]:
    """Absolute names an import statement refers to (relative imports resolved against the package)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = PACKAGE if module != "__init__" or node.level == 1 else PACKAGE.rsplit(".", node.level - 1)[0]
        stem = f"{base}.{node.module}" if node.module else base
        if node.module is None:  # `from . import x`: x is a module of the package
            return [f"{stem}.{alias.name}" for alias in node.names]
        return [stem]
    return [node.module or ""]


def _imports(tree: ast.Module, module: str) -> list[tuple[ast.stmt, str, bool]]:
    """(statement, target, inside a function) for every import, TYPE_CHECKING blocks included."""
    found: list[tuple[ast.stmt, str, bool]] = []

    def walk(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((child, t, in_function) for t in _targets(child, module))
            walk(child, nested)

    walk(tree, False)
    return found


def test_emulator_imports_only_stdlib_third_party_and_itself():
    foreign = [
        f"{module}.py:{stmt.lineno} imports {target}"
        for module, tree in _modules().items()
        for stmt, target, _ in _imports(tree, module)
        if target.split(".")[0] == FIRST_PARTY and not target.startswith(PACKAGE)
    ]
    assert foreign == [], "the emulator must not import our adapter or other packages of ours"


def test_emulator_modules_import_each_other_without_cycles():
    graph: dict[str, set[str]] = {}
    for module, tree in _modules().items():
        deps = {
            t.removeprefix(PACKAGE + ".").split(".")[0]
            for _, t, _ in _imports(tree, module)
            if t.startswith(PACKAGE + ".")
        }
        graph[module] = deps - {module}
    graph.pop("__init__")  # the package facade re-exports; nothing inside imports it
    for deps in graph.values():
        deps.discard("__init__")
    list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a cycle


def test_function_level_imports_say_why():
    silent = []
    for module, tree in _modules().items():
        lines = (ROOT / f"{module}.py").read_text().splitlines()
        for stmt, _, in_function in _imports(tree, module):
            if in_function and "#" not in lines[stmt.lineno - 1] and "#" not in lines[stmt.lineno - 2]:
                silent.append(f"{module}.py:{stmt.lineno}")
    assert silent == []
