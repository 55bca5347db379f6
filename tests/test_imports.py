"""No import cycle in shareplan, and the solver's layers import only downwards.

The import graph is read from the source (every ``import`` of a shareplan module,
at module level or inside a function; ``if TYPE_CHECKING:`` blocks left out, they
never run), so a cycle that only a lazy import hides is caught too. Then each
solver module is imported alone in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import shareplan

PACKAGE = Path(shareplan.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _runtime_nodes(tree: ast.AST):
    """Every node outside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def _imports(name: str, path: Path) -> set[str]:
    """The shareplan modules ``name`` imports (a package's own __init__ counts as it)."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                here = here[:len(here) - (node.level - 1)]
                base = ".".join(here + ([node.module] if node.module else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        for target in targets:
            while target not in MODULES and "." in target:
                target = target.rsplit(".", 1)[0]
            if target in MODULES and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return path[path.index(w):] + [w]
            if w not in state and (found := visit(w)):
                return found
        path.pop()
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_the_reader_finds_imports():
    """The graph is read right: known edges are there (else the cycle test proves nothing)."""
    assert "shareplan.solver.core" in GRAPH["shareplan.solver.run"]
    assert "shareplan.solver.explain" in GRAPH["shareplan.solver.run"]
    assert "shareplan.solver.programme" in GRAPH["shareplan.solver.explain"]
    assert "shareplan.solver.backends" in GRAPH["shareplan.solver.guard"]  # a package
    assert "shareplan.solver.plan" in GRAPH["shareplan.solver.backends.cbc"]  # a lazy import
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    assert _cycle(GRAPH) is None, " -> ".join(_cycle(GRAPH))


def test_layers_import_downwards():
    """core imports no other module of shareplan; the checker none of the formulation's
    algebra (network, formulation, plan); the formulation no backend."""
    assert GRAPH["shareplan.solver.core"] == set()
    assert not GRAPH["shareplan.solver.checker"] & {
        "shareplan.models.network", "shareplan.solver.formulation", "shareplan.solver.plan"}
    assert not {m for m in GRAPH["shareplan.solver.formulation"]
                if m.startswith("shareplan.solver.backends")}


@pytest.mark.parametrize("module", ["shareplan.solver.core", "shareplan.solver.backends",
                                    "shareplan.solver.formulation", "shareplan.solver.checker",
                                    "shareplan.solver.programme", "shareplan.solver.explain",
                                    "shareplan.solver.run", "shareplan.solver.components"])
def test_each_solver_module_imports_alone(module):
    """Imported first in a fresh interpreter, each loads (no order it silently relies on);
    the registry and core load no numpy."""
    code = (f"import sys, {module}\n"
            "print('numpy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    if module in ("shareplan.solver.core", "shareplan.solver.backends"):
        assert out.stdout.strip() == "False", f"{module} loads numpy"
