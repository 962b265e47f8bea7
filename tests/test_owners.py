"""One owner per concept, checked: the rules docs/architecture.md states, read off the code.

Each test reads the package's source (AST, not grep) and names the file and
line of whatever breaks its rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "togglsync"
KINDS = {"time_entry", "project", "client", "tag", "workspace"}


def modules(*, exclude: tuple[str, ...] = ()) -> list[tuple[str, ast.Module]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE.parent).as_posix()
        if name.startswith("togglsync/simulator/") or name in exclude:
            continue
        out.append((name, ast.parse(path.read_text(), name)))
    return out


def _is_kind(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and node.value in KINDS:
        return True
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "Kind"


def test_only_records_branches_on_the_kind_of_a_record():
    """What differs between kinds of record is data in `records` (SPECS, REFERENCES), not if-chains elsewhere."""
    found = []
    for name, tree in modules(exclude=("togglsync/records.py",)):
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq, ast.Is, ast.IsNot)) for op in node.ops):
                sides = [node.left, *node.comparators]
                names_a_kind = any(w in ast.unparse(side) for side in sides for w in ("resource", "kind"))
                if names_a_kind and any(_is_kind(side) for side in sides):
                    found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


@pytest.mark.parametrize("rule", ["sql", "models"])
def test_the_cli_runs_no_sql_of_its_own(rule):
    """The CLI parses, calls the library and renders: no SQL text, no table models."""
    found = []
    for name, tree in modules():
        if not name.startswith("togglsync/cli/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and [a.name for a in node.names] == ["Connection"]:
                continue  # a type, for annotations
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                names += [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) else []
                banned = {"sql": ("togglsync.db.sql", "sqlalchemy.select", "sqlalchemy.func", "sqlalchemy.text"),
                          "models": ("togglsync.db.models",)}[rule]
                if any(n == b or n.startswith(b + ".") for n in names for b in banned):
                    found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    assert found == []
