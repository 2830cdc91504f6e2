"""pyproject's runtime dependencies are exactly the distributions src imports, each with a floor;
what the tests import beyond them is in the `test` extra."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(requirements: list[str]) -> dict[str, str]:
    """canonical distribution name -> its requirement text."""
    found = {}
    for requirement in requirements:
        match = _NAME.match(requirement)
        assert match, f"unreadable requirement {requirement!r}"
        found[_canonical(match.group(1))] = requirement
    return found


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _imported_distributions(folder: Path, local: set[str]) -> set[str]:
    """The distributions of every third-party top-level module imported under `folder`, lazy
    imports inside functions included."""
    modules = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - local
    owners = packages_distributions()
    missing = sorted(m for m in third_party if m not in owners)
    assert not missing, f"modules imported under {folder.name}/ but not installed: {missing}"
    return {_canonical(d) for m in third_party for d in owners[m]}


def test_runtime_dependencies_are_what_src_imports():
    """...but for what an optional extra brings (pandas, for the analysis API's DataFrames)."""
    project = _project()
    declared = _declared(project["dependencies"])
    optional = {
        name
        for extra, requirements in project["optional-dependencies"].items()
        if extra != "test"
        for name in _declared(requirements)
    }
    imported = _imported_distributions(ROOT / "src" / "agenteval", {"agenteval"})
    assert set(declared) == imported - optional
    assert optional <= imported  # an extra nothing imports would be dead weight


def test_every_runtime_dependency_has_a_lower_bound():
    requirements = _project()["dependencies"]
    assert [r for r in requirements if ">=" not in r.split(";")[0]] == []


def test_what_tests_import_is_declared_or_in_the_test_extra():
    project = _project()
    available = set(_declared(project["dependencies"])) | set(
        _declared(project["optional-dependencies"]["test"])
    )
    helpers = {p.stem for p in (ROOT / "tests").glob("*.py")} | {"agenteval"}
    imported = _imported_distributions(ROOT / "tests", helpers)
    assert imported - available == set()
