"""The migrations ship inside the package and work from a normal (non-editable) install."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def listed_packages() -> set[str]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return set(pyproject["tool"]["setuptools"]["packages"])


def packages_on_disk() -> set[str]:
    found = set()
    for root, mapped_as in ((REPO_ROOT / "togglsync", "togglsync"), (REPO_ROOT / "migrations", "togglsync.migrations")):
        for module in root.rglob("*.py"):
            if "__pycache__" in module.parts:
                continue
            relative = module.parent.relative_to(root).parts
            found.add(".".join((mapped_as, *relative)))
    return found


def test_every_package_directory_is_listed_in_pyproject():
    """pyproject lists packages by hand (for the migrations mapping); a new one must be added."""
    missing = packages_on_disk() - listed_packages()
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(missing)}"


@pytest.mark.slow
def test_wheel_carries_the_migrations_and_they_run(tmp_path):
    # Build from a copy: setuptools leaves build/ in the source tree and
    # reuses it, so an in-tree build could both litter and test stale files.
    source = tmp_path / "source"
    for name in ("pyproject.toml", "README.md"):
        if (REPO_ROOT / name).exists():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / name, source / name)
    for tree in ("togglsync", "migrations"):
        shutil.copytree(REPO_ROOT / tree, source / tree, ignore=shutil.ignore_patterns("__pycache__"))
    wheel_dir = tmp_path / "wheel"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(source), "-w", str(wheel_dir)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel,) = wheel_dir.glob("togglsync-*.whl")

    names = set(zipfile.ZipFile(wheel).namelist())
    versions = {f"togglsync/migrations/versions/{p.name}" for p in (REPO_ROOT / "migrations" / "versions").glob("*.py")}
    assert {"togglsync/migrations/env.py", "togglsync/migrations/script.py.mako"} <= names
    assert versions and versions <= names

    # Unpacked wheel = what a regular install puts in site-packages. Run from
    # an empty directory so neither the checkout nor its migrations/ is visible.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    script = f"""
import sys
sys.path.insert(0, {str(site)!r})
import togglsync
from togglsync.db.migrate import current_revision, head_revision, migrations_dir
from togglsync.db.open import open_database
assert togglsync.__file__.startswith({str(site)!r}), togglsync.__file__
assert str(migrations_dir()).startswith({str(site)!r}), migrations_dir()
engine = open_database("db/togglsync.db")
assert current_revision(engine) == head_revision()
print("ok", head_revision())
"""
    run = subprocess.run(
        [sys.executable, "-c", script], cwd=workdir, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (workdir / "db" / "togglsync.db").is_file()
