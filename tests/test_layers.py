"""The architecture checks of CI: import layering, types, private names.

* `lint-imports` keeps the contracts of `[tool.importlinter]` in pyproject.toml
  (cli > library > sync > rows, outbox > api | db > records, and the forbidden
  imports), indirect imports included.
* `mypy` passes on the whole package with `[tool.mypy]`; modules still being
  rewritten are listed there with `ignore_errors`, and a listed module that has
  become clean fails here until its line is deleted.
* No module uses another module's private name (`_name`).

Both tools run as subprocesses from the repository root, as CI and a developer
run them, without leaving caches in the checkout.
"""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "togglsync"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _run(args: list[str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _console_script(name: str) -> str:
    """A console script of the environment running the tests (not whatever is first on PATH)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"{name} is not installed in {sys.prefix}: pip install -e '.[test]'")
    return found


# -- import layering --------------------------------------------------------------------


def test_import_contracts_are_kept():
    # --no-cache: nothing written into the checkout, and no stale graph.
    result = _run([_console_script("lint-imports"), "--no-cache"])
    assert result.returncode == 0, f"lint-imports failed:\n{result.stdout}\n{result.stderr}"
    assert "0 broken" in result.stdout, result.stdout


# -- types ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    """One cache for both mypy runs below: the second rechecks only what it changes."""
    return tmp_path_factory.mktemp("mypy-cache")


def _mypy(cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "mypy", "--cache-dir", str(cache), "--no-pretty", *args])


def test_mypy_passes(mypy_cache):
    result = _mypy(mypy_cache)
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}\n{result.stderr}"


def _ignored_modules() -> list[str]:
    return [
        module
        for override in PYPROJECT["tool"]["mypy"].get("overrides", [])
        if override.get("ignore_errors")
        for module in ([override["module"]] if isinstance(override["module"], str) else override["module"])
    ]


def _ini_value(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _config_without_ignores(path: Path) -> Path:
    """`[tool.mypy]` as a mypy.ini, less the `ignore_errors` overrides."""
    settings = PYPROJECT["tool"]["mypy"]
    lines = ["[mypy]"]
    lines += [f"{key} = {_ini_value(value)}" for key, value in settings.items() if key != "overrides"]
    for override in settings.get("overrides", []):
        if override.get("ignore_errors"):
            continue
        modules = override["module"]
        lines.append(f"[mypy-{modules if isinstance(modules, str) else ','.join(modules)}]")
        lines += [f"{key} = {_ini_value(value)}" for key, value in override.items() if key != "module"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _module_of(path: str) -> str:
    parts = list(Path(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_every_ignore_errors_override_is_still_needed(mypy_cache, tmp_path):
    """A module in an `ignore_errors` override must still have errors: once clean, delete its line."""
    ignored = _ignored_modules()
    if not ignored:
        return
    result = _mypy(mypy_cache, "--config-file", str(_config_without_ignores(tmp_path / "mypy.ini")))
    if result.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        pytest.fail(f"mypy did not run:\n{result.stdout}\n{result.stderr}")
    with_errors = {_module_of(m[1]) for m in re.finditer(r"^([\w/\\.]+\.py):\d+: error:", result.stdout, re.M)}
    clean = sorted(m for m in ignored if not any(_matches(m, name) for name in with_errors))
    assert not clean, (
        f"no type errors left in {', '.join(clean)}: "
        "delete their lines from the ignore_errors override in pyproject.toml"
    )


def _matches(pattern: str, module: str) -> bool:
    if pattern.endswith(".*"):
        return module == pattern[:-2] or module.startswith(pattern[:-1])
    return module == pattern


# -- private names ----------------------------------------------------------------------

# Known uses of another module's private name (none). An entry that no longer
# matches anything fails the test, so the list stays exact.
KNOWN_PRIVATE_USES: set[str] = set()


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


@functools.cache
def _package_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        modules[_module_of(str(path.relative_to(ROOT)))] = path
    return modules


def _private_uses(module: str, path: Path) -> set[str]:
    """`importer -> owner._name` for each private name `module` takes from another togglsync module.

    Two forms: `from owner import _name`, and `owner._name` where `owner` is a
    module bound by an import (`from togglsync import lookup; lookup._suggest`).
    A package's own `__init__` is not "another module" for the modules inside it.
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    known = _package_modules()
    bound: dict[str, str] = {}  # local name -> the togglsync module it stands for
    uses = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                owner = ".".join(base + ([node.module] if node.module else []))
            else:
                owner = node.module or ""
            if owner != "togglsync" and not owner.startswith("togglsync."):
                continue
            for alias in node.names:
                if f"{owner}.{alias.name}" in known:  # a submodule, not a name
                    bound[alias.asname or alias.name] = f"{owner}.{alias.name}"
                elif _private(alias.name) and owner != package:
                    uses.add(f"{module} -> {owner}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("togglsync") and alias.asname:
                    bound[alias.asname] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id in bound
            and bound[node.value.id] != package
        ):
            uses.add(f"{module} -> {bound[node.value.id]}.{node.attr}")
    return uses


def test_no_module_uses_another_modules_private_names():
    found = set()
    for module, path in _package_modules().items():
        found |= _private_uses(module, path)
    new = sorted(found - KNOWN_PRIVATE_USES)
    gone = sorted(KNOWN_PRIVATE_USES - found)
    assert not new, "private names used outside their module (make them public, or move the code):\n" + "\n".join(new)
    assert not gone, "no longer used: delete from KNOWN_PRIVATE_USES in tests/test_layers.py:\n" + "\n".join(gone)


def test_the_private_name_check_sees_both_forms(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "from togglsync.lookup import _suggest, account\n"
        "from togglsync import lookup\n"
        "from . import _own\n"
        "lookup._suggest('x', [])\n"
        "lookup.account\n",
        encoding="utf-8",
    )
    assert _private_uses("togglsync.probe", source) == {"togglsync.probe -> togglsync.lookup._suggest"}
