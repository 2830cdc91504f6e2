"""Shared fixtures: no test sees a real API key, and every output goes under tmp_path."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LAYWILL = SHARED / "benchmarks" / "catalogs" / "laywill-awesome-claude-code-subagents"
WSHOBSON = SHARED / "benchmarks" / "catalogs" / "wshobson-agents"
FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith("ANTHROPIC_"):
            monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AGENTEVAL_CACHE_DIR", str(tmp_path / ".agenteval-cache"))
    # A test meets the real Claude Code only when it asks for it (`claude_path()`,
    # AGENTEVAL_CLAUDE): with `claude` on PATH (as .ci/run puts it) the API router would replay
    # a captured profile where a test asserts on the approximate layout.
    path = os.environ.get("PATH", "").split(os.pathsep)
    kept = [d for d in path if not (d and os.access(os.path.join(d, "claude"), os.X_OK))]
    monkeypatch.setenv("PATH", os.pathsep.join(kept))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def stub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch):
    """A started loopback stub, with its URL and the test module's `KEY` in the environment
    (as a user sets them); a module may pass stub options in `STUB_OPTIONS`."""
    from stub_anthropic import StubAnthropic

    with StubAnthropic(**getattr(request.module, "STUB_OPTIONS", {})) as s:
        monkeypatch.setenv("ANTHROPIC_API_KEY", request.module.KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", s.base_url)
        yield s


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


@pytest.fixture
def wshobson() -> Path:
    """A real plugin marketplace (91 plugins, their agents, skills and commands)."""
    if not WSHOBSON.is_dir():
        pytest.skip("the shared wshobson marketplace is not beside the project")
    return WSHOBSON


def run_config(config, *, resume: Path | None = None, router=None, **overrides):
    """Resolve a config (plus command-line style overrides) and run it through the pipeline."""
    from agenteval.pipeline import run_eval
    from agenteval.settings import Overrides, resolve

    return run_eval(resolve(config, Overrides(**overrides)), resume=resume, router=router)


AGENTEVAL = Path(sys.executable).with_name("agenteval")


def start_cli(*args: str) -> subprocess.Popen[str]:
    """The agenteval command as a separate process (for signal, lock and kill tests)."""
    return subprocess.Popen(
        [str(AGENTEVAL), *args],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_lines(root: Path, n: int, proc: subprocess.Popen[str], timeout: float = 30) -> Path:
    """Wait until the only run folder under ``root/reports`` has ``n`` result lines."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"run ended early: {proc.communicate()}"
        dirs = [p for p in (root / "reports").glob("*") if p.is_dir()]
        results = dirs[0] / "results.jsonl" if dirs else None
        if results and results.exists() and results.read_bytes().count(b"\n") >= n:
            return dirs[0]
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"fewer than {n} results after {timeout} s")


# The demo's routing dataset alone, through the anthropic router, as an eval in demo/evals/.
DATASET_EVAL = """\
name: ds
agents: [../agents]
datasets: [../datasets/routing.yaml]
examples: false
holdout: none
router:
  backend: anthropic
out: ../reports
"""
# The same as a nightly batch run (the stub ends batches after a poll or two).
BATCH_EVAL = DATASET_EVAL.replace("name: ds", "name: nightly").replace(
    "out: ../reports", "batch: true\nbatch_poll_s: 0.05\nout: ../reports"
)
