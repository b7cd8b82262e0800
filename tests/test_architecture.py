"""The import graph of ``matchmaker`` has no circles.

An import inside a function is still a design edge (the module needs the other to work), so the
graph counts every ``import`` and ``from ... import`` anywhere in a module, not only those at its
top. ``from package import name`` is an edge to the submodule ``package.name`` when there is one,
else to the package itself. Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``;
those implicit edges are not counted (they would put every package on a circle with its own
modules), only the module named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import matchmaker

ROOT = Path(matchmaker.__file__).parent


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name a (possibly relative) ``from`` import refers to."""
    if level == 0:
        return name or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the package that ``module`` imports, wherever in its body."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()

    def add(target: str) -> None:
        # ``import a.b.c`` where only ``a.b`` is ours (or a name inside a module): the longest
        # prefix that is a module of the package.
        parts = target.split(".")
        while parts:
            candidate = ".".join(parts)
            if candidate in known:
                found.add(candidate)
                return
            parts.pop()

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in known else base)
    found.discard(module)
    return found


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    names = module_names(root)
    known = set(names)
    return {name: imports_of(name, path, known) for name, path in names.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, pending = work[-1]
            if pending:
                succ = pending.pop(0)
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, sorted(graph.get(succ, ()))))
                elif succ in on_stack:
                    low[node] = min(low[node], index[succ])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return sorted(found)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    edges = [f"    {a} -> {b}" for a in component for b in sorted(graph[a] & members)]
    return " , ".join(component) + "\n" + "\n".join(edges)


def test_the_graph_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg import b\n")
    (pkg / "b.py").write_text("from .sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("import pkg.a\nfrom .. import d\n")
    (pkg / "d.py").write_text("from pkg.sub.c import x\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub.c"] == {"pkg.a", "pkg.d"}
    assert graph["pkg.d"] == {"pkg.sub.c"}
    assert circles(graph) == [["pkg.a", "pkg.b", "pkg.d", "pkg.sub.c"]]


def test_matchmaker_has_no_circle_of_imports() -> None:
    graph = import_graph()
    assert len(graph) > 50
    found = circles(graph)
    assert not found, "circles of imports in matchmaker/ (counting imports inside functions):\n" + (
        "\n".join(_describe(c, graph) for c in found)
    )


#: What the platform's job runner and observability may import: no feature, only the platform.
PLATFORM = {"matchmaker.config", "matchmaker.db", "matchmaker.observability"}


def test_the_job_runner_and_observability_import_no_domain() -> None:
    graph = import_graph()
    assert graph["matchmaker.observability"] <= PLATFORM, graph["matchmaker.observability"]
    job_modules = {name for name in graph if name.split(".")[:2] == ["matchmaker", "jobs"]}
    assert "matchmaker.jobs.runner" in job_modules, sorted(job_modules)
    for name in sorted(job_modules):
        assert graph[name] <= PLATFORM | job_modules, (name, graph[name] - job_modules)
