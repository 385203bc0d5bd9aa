"""The package structure of `src/leedz/`, checked: imports go one way, SQL stays in repositories.

Layers, lowest first: `kit/` (glue, no business rule) with `config` and `errors`; `access/` (who
may do what: roles, permissions, the request context); the features; the composers (sign-in in
`auth/`, the gateway, the worker); `app`, `api`, `cli`.
"""

from __future__ import annotations

import ast

from tests.architecture.graph import (
    cycles,
    may_touch_the_database,
    package_edges,
    raw_uses,
    raw_uses_outside_repositories,
)

# What the lowest packages may import (besides themselves).
BASE = {"config", "errors"}
ALLOWED = {
    "config": set[str](),
    "errors": set[str](),
    "kit": BASE,
    "access": BASE | {"kit"},
}
# Only what starts the process sits above the composers.
TOP = {"app", "cli"}


def _edges_from(package: str) -> dict[str, list[str]]:
    return {
        target: [f"{i.module}:{i.line}" for i in imports]
        for (source, target), imports in package_edges().items()
        if source == package
    }


class TestImportsGoOneWay:
    def test_no_cycles_between_packages(self) -> None:
        edges = package_edges()
        found = cycles(set(edges))
        detail = {
            " ↔ ".join(component): [
                f"{a} -> {b} ({edges[(a, b)][0].module}:{edges[(a, b)][0].line})"
                for (a, b) in edges
                if a in component and b in component
            ]
            for component in found
        }
        assert found == [], detail

    def test_the_lowest_packages_import_no_feature(self) -> None:
        wrong = {
            package: {t: where for t, where in _edges_from(package).items() if t not in allowed}
            for package, allowed in ALLOWED.items()
        }
        assert {p: w for p, w in wrong.items() if w} == {}

    def test_nothing_imports_the_process_entry_points(self) -> None:
        wrong = [
            f"{source} -> {target}"
            for (source, target) in package_edges()
            if target in TOP and source not in TOP
        ]
        assert wrong == []

    def test_the_cycle_finder_finds_a_cycle(self) -> None:
        assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == [["a", "b", "c"]]
        assert cycles({("a", "b"), ("b", "c")}) == []


class TestOnlyRepositoriesBuildSql:
    def test_no_raw_connection_or_sql_outside_repositories_and_kit(self) -> None:
        assert [f"{u.module}:{u.line} {u.what}" for u in raw_uses_outside_repositories()] == []

    def test_the_check_sees_a_raw_connection_and_sql(self) -> None:
        source = (
            "async def f(tx):\n"
            "    await tx.raw.fetch('SELECT 1 FROM jobs')\n"
            "    sql = ('UPDATE jobs SET status = $2'\n"
            "           ' WHERE id = $1')\n"
            "    note = 'Select a job'  # prose, not SQL\n"
        )
        found = [u.what.split(" ")[0] for u in raw_uses("leedz.jobs.service", ast.parse(source))]
        assert sorted(found) == ["SQL", "SQL", "tx.raw"]

    def test_repositories_and_kit_may(self) -> None:
        assert may_touch_the_database("leedz.jobs.repository")
        assert may_touch_the_database("leedz.kit.db")
        assert not may_touch_the_database("leedz.jobs.service")
        assert not may_touch_the_database("leedz.gateway.server")
