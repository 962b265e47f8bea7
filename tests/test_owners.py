"""One owner per concept, checked: the rules docs/architecture.md states, read off the code.

Each test reads the package's source (AST, not grep) and names the file and
line of whatever breaks its rule.
"""

from __future__ import annotations

import ast
import re
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


# Running SQL without importing anything: a method of a connection or cursor, or SQL text.
_EXECUTING = {"execute", "executemany", "executescript", "exec_driver_sql", "raw_connection"}
_SQL_TEXT = re.compile(
    r"\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA|WITH|VACUUM)\b.*\b(FROM|INTO|SET|TABLE|VIEW|AS)\b",
    re.IGNORECASE | re.DOTALL,
)


def _cli_sql_calls(name: str, tree: ast.Module) -> list[str]:
    found = []
    docstrings = {
        id(node.body[0].value) for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
        and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _EXECUTING:
            found.append(f"{name}:{node.lineno}: {ast.unparse(node)[:80]}")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
              and _SQL_TEXT.match(node.value)):
            found.append(f"{name}:{node.lineno}: {node.value[:80]!r}")
    return found


def test_the_cli_executes_no_sql():
    """No statement is run from the CLI, by any name: no execute()/exec_driver_sql() on a
    connection, no string that is a SQL statement (help texts show queries inside sentences)."""
    found = []
    for name, tree in modules():
        if name.startswith("togglsync/cli/"):
            found += _cli_sql_calls(name, tree)
    assert found == []


@pytest.mark.parametrize("source", [
    'conn.execute("SELECT 1")',
    'engine.raw_connection().driver_connection.execute(text, params)',
    'conn.exec_driver_sql(f"PRAGMA {x}")',
    'sql.scalar(conn, "SELECT name FROM projects WHERE id = ?", (1,))',
    'rows(conn, f"SELECT id FROM {table} WHERE x = 1")',
])
def test_the_sql_check_sees_sql_run_from_the_cli(source):
    assert _cli_sql_calls("x.py", ast.parse(source))


def test_the_sql_check_leaves_help_texts_alone():
    source = '''
def sql():
    """Run one read-only SQL query.

    togglsync sql "SELECT date FROM daily_totals"
    """
    raise UsageError('give a query, e.g. togglsync sql "SELECT count(*) FROM entries"')
'''
    assert _cli_sql_calls("x.py", ast.parse(source)) == []
