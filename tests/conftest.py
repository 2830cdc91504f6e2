"""Shared fixtures: no test sees a real API key, and every output goes under tmp_path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LAYWILL = SHARED / "benchmarks" / "catalogs" / "laywill-awesome-claude-code-subagents"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith("ANTHROPIC_"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AGENTEVAL_CACHE_DIR", str(tmp_path / ".agenteval-cache"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def demo_project(tmp_path: Path) -> Path:
    """A copy of the repo's demo catalog, datasets and evals in tmp_path."""
    for name in ("agents", "datasets", "evals"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def laywill() -> Path:
    if not LAYWILL.is_dir():
        pytest.skip("the shared laywill catalog is not beside the project")
    return LAYWILL
