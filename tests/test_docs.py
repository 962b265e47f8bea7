"""The README is part of the interface: every command and every table column is documented there."""

from pathlib import Path

import click
import pytest

from togglsync.cli import cli
from togglsync.db.models import Base

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        path = prefix + (name,)
        yield path, command
        if isinstance(command, click.Group):
            yield from _commands(command, path)


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_and_is_in_the_readme(path, command):
    assert (command.help or "").strip(), f"togglsync {' '.join(path)} has no help text"
    assert f"togglsync {' '.join(path)}" in README, f"README does not mention `togglsync {' '.join(path)}`"


@pytest.mark.parametrize("table", sorted(Base.metadata.tables))
def test_every_table_and_column_is_in_the_readme(table):
    assert f"`{table}`" in README
    row = next(line for line in README.splitlines() if line.startswith(f"| `{table}` |"))
    for column in Base.metadata.tables[table].columns:
        assert f"`{column.name}`" in row, f"README's row for {table} lacks column {column.name}"


def test_readme_names_the_two_setup_commands():
    assert "togglsync demo" in README
    assert "bash .ci/run" in README


def test_views_are_documented():
    for view in ("entries", "daily_totals", "entry_tags"):
        assert f"| `{view}` |" in README
