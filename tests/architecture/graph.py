"""The import graph of `src/leedz/`, read from the source with `ast` (every import, also those
inside functions), at the level of its packages: `leedz.auth.accounts` belongs to `auth`, a
top-level module such as `leedz.config` is a package of its own."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "leedz"


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted (leedz.auth.accounts)
    target: str  # the imported module, dotted
    line: int


def modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def imports() -> Iterator[Import]:
    for module, path in modules():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(module, alias.name, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:
                    # `from leedz.kit import db` imports the module leedz.kit.db.
                    yield Import(module, f"{base}.{alias.name}", node.lineno)


def package_of(module: str) -> str | None:
    """`auth` for leedz.auth.accounts, `config` for leedz.config; None outside leedz."""
    parts = module.split(".")
    if parts[0] != "leedz" or len(parts) < 2:
        return None
    return parts[1]


def package_edges() -> dict[tuple[str, str], list[Import]]:
    """(importer, imported) → the imports behind that edge, between different packages."""
    edges: dict[tuple[str, str], list[Import]] = {}
    for imp in imports():
        source, target = package_of(imp.module), package_of(imp.target)
        if source is None or target is None or target in (source, "__version__"):
            continue
        edges.setdefault((source, target), []).append(imp)
    return edges


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:  # noqa: C901 - Tarjan in one piece, as published
    """The strongly connected components with more than one package (Tarjan)."""
    graph: dict[str, list[str]] = {}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# SQL a module writes itself: a string that starts like a statement.
_SQL = re.compile(r"^\s*(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|WITH\s+\w+\s+AS)\b")


def may_touch_the_database(module: str) -> bool:
    """Repositories and kit/ (the transaction, the repository bases) speak SQL; nothing else."""
    return (
        module.endswith(".repository") or module == "leedz.kit" or module.startswith("leedz.kit.")
    )


@dataclass(frozen=True)
class RawUse:
    module: str
    line: int
    what: str


def raw_uses(module: str, tree: ast.AST) -> Iterator[RawUse]:
    """Where `module` reaches for the raw connection (`….raw`) or writes SQL of its own."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "raw":
            yield RawUse(module, node.lineno, f"{ast.unparse(node)} (the raw connection)")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _SQL.match(node.value)
        ):
            yield RawUse(module, node.lineno, f"SQL {node.value[:40]!r}")


def raw_uses_outside_repositories() -> list[RawUse]:
    found: list[RawUse] = []
    for module, path in modules():
        if not may_touch_the_database(module):
            found.extend(raw_uses(module, ast.parse(path.read_text(encoding="utf-8"))))
    return found
