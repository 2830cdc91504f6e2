"""The import graph flows one way, in the order DESIGN.md gives; every module imports alone."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "agenteval"
ORDER = [
    "errors",
    "text",
    "templating",
    "stats",
    "claude_code_install",
    "catalog",
    "cases",
    "views",
    "config",
    "models",
    "routing",
    "settings",
    "execution",
    "outputs",
    "scoring",
    "record",
    "reports",
    "pipeline",
    "improve",
    "analysis",
    "cli",
]


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else module
    return ORDER.index(top)


def _modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def test_every_module_has_a_layer():
    for name, _ in _modules():
        if name == "agenteval":
            continue
        assert name.split(".")[1] in ORDER, f"{name} is not placed in the layer ORDER"


def test_imports_flow_one_way():
    for name, path in _modules():
        if name == "agenteval":
            continue
        mine = _layer(name)
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("agenteval")
            ):
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("agenteval")]
            for target in targets:
                if target == "agenteval":
                    continue
                theirs = _layer(target)
                same_package = target.split(".")[1] == name.split(".")[1]
                assert theirs < mine or same_package, f"{name} imports {target} (against the flow)"


def test_only_the_anthropic_router_imports_anthropic():
    for name, path in _modules():
        tree = ast.parse(path.read_text())
        imports = {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        }
        imports |= {
            n.module.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module
        }
        if "anthropic" in imports:
            assert name == "agenteval.models.anthropic", f"{name} imports anthropic"


@pytest.mark.parametrize("name", [n for n, _ in _modules()])
def test_module_imports_alone(name):
    code = f"import {name}"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_help_works_without_the_sdk_or_the_data_libraries():
    code = (
        "import sys; sys.modules.update(dict.fromkeys(('anthropic', 'sklearn', 'pandas')));"
        "from click.testing import CliRunner; from agenteval.cli import main; "
        "r = CliRunner().invoke(main, ['--help']); print(r.exit_code, 'Commands:' in r.output)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "0 True", out.stderr


def test_package_imports():
    importlib.import_module("agenteval")


def _edges() -> dict[str, set[str]]:
    """Module -> the agenteval modules it imports: every import, at the top or inside a
    function (a cycle dodged with a local import is still a cycle), within a package too."""
    names = {name for name, _ in _modules()}

    def owner(target: str) -> str | None:
        while target and target not in names:
            target = target.rpartition(".")[0]
        return target or None

    edges: dict[str, set[str]] = {}
    for name, path in _modules():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = edges.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*parts, *([node.module] if node.module else [])])
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            for target in targets:
                if not target.startswith("agenteval"):
                    continue
                mine = owner(target)
                # a module importing its own package (or itself) is not a cycle
                if mine and mine != name and not name.startswith(mine + "."):
                    found.add(mine)
    return edges


def test_no_import_cycle_anywhere():
    edges = _edges()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for nxt in sorted(edges.get(module, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)
