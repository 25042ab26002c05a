"""The import graph of the product: no cycles (deferred imports included), layers point one way.

Every `import` and `from … import` in supervision/, api/ and reports/ is read from the source
(AST), wherever it sits — at the top of a module or deferred inside a function — so a cycle
cannot hide behind a function-level import. Importing `a.b.c` imports `a`, `a.b` and `a.b.c`,
so an edge goes to each package on the way.
"""

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("supervision", "api", "reports")
LAYER = {"api": 2, "reports": 1, "supervision": 0}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if "migrations" in parts and "versions" in parts:
                continue  # Alembic loads these by path, not by import
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _resolve(name: str, modules: dict[str, Path]) -> list[str]:
    """The project modules that `import name` runs: each package on the way, then the module."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1) if ".".join(parts[:i]) in modules]


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        is_pkg = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".") if is_pkg else name.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    mod = ".".join(base + ([node.module] if node.module else []))
                else:
                    mod = node.module or ""
                targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
            for target in targets:
                for dep in _resolve(target, modules):
                    if dep != name and not name.startswith(dep + "."):
                        graph[name].add(dep)
        graph.setdefault(name, set())
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
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
                    found.append(sorted(component))
    return found


def test_the_graph_sees_deferred_imports() -> None:
    # A function-level import in the CLI is an edge like any other.
    graph = import_graph()
    assert "supervision.demo.consequences" in graph["supervision.cli"]


def test_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" ⇄ ".join(c) for c in found)


def test_layers_point_one_way() -> None:
    """api → reports → supervision, never back."""
    wrong = [
        f"{a} → {b}"
        for a, deps in import_graph().items()
        for b in deps
        if LAYER[b.split(".")[0]] > LAYER[a.split(".")[0]]
    ]
    assert not wrong, wrong


def test_pages_never_import_routers() -> None:
    wrong = [
        f"{a} → {b}"
        for a, deps in import_graph().items()
        if a.startswith("api.pages")
        for b in deps
        if b.startswith("api.routers")
    ]
    assert not wrong, wrong
