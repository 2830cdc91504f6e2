"""The router seam (routing/__init__.py): a registry of built-ins plus entry points, typed
options, the mock router, and any router run through the whole pipeline from Python or the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from conftest import ROOT, run_config

from agenteval.cli import main
from agenteval.config import EvalConfig
from agenteval.errors import ConfigError, RouterError
from agenteval.routing import Decision, RouteRequest, make_router, registry
from agenteval.routing.mock import MockRouter

PLUGIN = '''
import hashlib
from agenteval.routing import Decision


class ShortestRouter:
    """Routes every request to the agent with the shortest name (a third-party router)."""

    name = "shortest"

    @classmethod
    def from_options(cls, options):
        return cls()

    @property
    def fingerprint(self):
        return hashlib.sha256(b"shortest").hexdigest()[:16]

    def describe(self):
        return {"backend": "shortest", "model": "none"}

    async def route(self, request):
        names = sorted(request.view.names, key=lambda n: (len(n), n))
        return Decision(agent=names[0], cost_usd=0.0)

    async def aclose(self):
        return None
'''


def test_registry_lists_the_built_ins():
    assert {"lexical", "anthropic", "mock"} <= set(registry())
    assert all(entry.builtin for name, entry in registry().items() if name in {"lexical", "mock"})


def test_every_built_in_router_declares_its_capabilities_without_being_built():
    from agenteval.routing import router_capabilities

    # no key is set and no `claude` is on PATH: building claude-cli or anthropic would fail
    offline = [n for n in ("lexical", "mock") if router_capabilities(n).offline]
    assert offline == ["lexical", "mock"]
    assert {router_capabilities(n).pricing for n in ("lexical", "mock")} == {"none"}
    api, cli = router_capabilities("anthropic"), router_capabilities("claude-cli")
    assert (api.offline, api.pricing, api.estimate) == (False, "per-token", "tokens")
    assert (api.needs_api_key, api.needs_claude_cli) == (True, False)
    assert (cli.offline, cli.pricing, cli.estimate) == (False, "per-token", "worst-case")
    assert (cli.needs_api_key, cli.needs_claude_cli) == (True, True)


def test_a_router_that_declares_nothing_is_priced_unknown_and_says_so():
    from agenteval.routing import UNDECLARED, capabilities_of

    caps = capabilities_of(object())
    assert caps == UNDECLARED
    assert (caps.offline, caps.pricing, caps.needs_api_key) == (False, "unknown", False)
    assert "declares no pricing" in caps.reason


def test_no_code_tests_the_class_of_a_built_in_router():
    """Cost, key needs and offline-ness are asked of the declared capabilities (DESIGN.md:
    "Capabilities are declared"), so no `isinstance` names a router class."""
    import ast

    from agenteval.routing import BUILTIN_ROUTERS

    classes = {target.rpartition(":")[2] for target in BUILTIN_ROUTERS.values()}
    found = []
    for path in sorted((ROOT / "src" / "agenteval").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance"):
                continue
            named = {getattr(n, "id", getattr(n, "attr", "")) for n in ast.walk(node.args[-1])}
            if named & classes:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []


def test_options_are_typed_per_router():
    with pytest.raises(RouterError, match="router.prompt is not an option of the lexical"):
        make_router("lexical", {"prompt": "classify"})
    with pytest.raises(RouterError, match="router.threshold"):
        make_router("lexical", {"threshold": 1.5})
    with pytest.raises(RouterError, match="unknown router 'gpt'"):
        make_router("gpt", {})


def test_an_option_the_router_lacks_is_an_error_naming_the_config_line(tmp_path):
    from agenteval.config import load_config
    from agenteval.settings import resolve

    (tmp_path / "agents").mkdir()
    path = tmp_path / "eval.yaml"
    path.write_text("agents: [agents]\nrouter:\n  backend: lexical\n  prompt: classify\n")
    with pytest.raises(ConfigError) as err:
        resolve(load_config(path))
    assert err.value.line == 4 and "not an option of the lexical router" in str(err.value)
    assert "threshold" in str(err.value)  # the options it does take


def test_python_can_run_any_router_through_the_whole_pipeline(demo_project):
    seen: list[RouteRequest] = []

    def pick(request: RouteRequest) -> str | None:
        seen.append(request)
        return None

    router = MockRouter(pick)
    outcome = run_config(EvalConfig(holdout="none"), router=router, limit=5)
    assert len(seen) == 5 and len(router.requests) == 5
    assert outcome.record.headline["trials"] == 5
    lines = (outcome.run_dir / "results.jsonl").read_text().splitlines()
    assert {json.loads(x)["label"] for x in lines} == {"none"}


def test_mock_router_from_the_cli_routes_every_case_right(demo_project):
    result = CliRunner().invoke(main, ["run", "--router", "mock", "--plain"])
    assert result.exit_code == 0, result.output
    assert "100.0%" in result.output


def test_an_unknown_router_option_is_a_usage_error_naming_the_choices(demo_project):
    result = CliRunner().invoke(main, ["run", "--router", "gpt", "--plain"])
    assert result.exit_code == 2
    assert "'gpt' is not one of" in result.output
    assert all(name in result.output for name in ("anthropic", "claude-cli", "lexical", "mock"))


def test_a_decision_can_be_returned_whole():
    import asyncio

    from agenteval.cases import Case
    from agenteval.views import AgentView, CatalogView

    router = MockRouter(lambda r: Decision(agent=None, error="boom"))
    case = Case(id="d/x", prompt="p", expected=("a",), origin="dataset", source="x:1")
    view = CatalogView(fold=None, agents=(AgentView(name="a", description="d", tools_text=""),))
    decision = asyncio.run(router.route(RouteRequest(case=case, view=view)))
    assert decision.error == "boom"


def test_a_third_party_router_installed_as_an_entry_point_runs_from_the_cli(demo_project):
    site = demo_project / "site"
    site.mkdir()
    (site / "shortest_router.py").write_text(PLUGIN, encoding="utf-8")
    dist = site / "agenteval_shortest-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: agenteval-shortest\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[agenteval.routers]\nshortest = shortest_router:ShortestRouter\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "agenteval.cli",
            "run",
            "--router",
            "shortest",
            "--plain",
            "--limit",
            "6",
            "--holdout",
            "none",
        ],
        cwd=demo_project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode in (0, 1), run.stderr  # 1: a gate may fail; never a usage error
    assert "router: shortest (chosen with --router)" in run.stderr
    (run_dir,) = [p for p in (demo_project / "reports").iterdir() if p.is_dir()]
    labels = {json.loads(x)["label"] for x in (run_dir / "results.jsonl").read_text().splitlines()}
    shortest = min((p.stem for p in (ROOT / "agents").glob("*.md")), key=lambda n: (len(n), n))
    assert labels == {shortest}
    listed = subprocess.run(
        [sys.executable, "-m", "agenteval.cli", "run", "--help"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "shortest" in listed.stdout  # the CLI's choices come from the registry


def test_the_api_router_runs_offline_on_the_mock_client(demo_project):
    config = EvalConfig(router={"backend": "anthropic", "client": "mock"}, holdout="none")
    outcome = run_config(config, limit=6)
    assert outcome.record.router.model_dump().get("client") == "mock"
    lines = (outcome.run_dir / "results.jsonl").read_text().splitlines()
    assert len(lines) == 6 and {json.loads(x)["label"] for x in lines} == {"none"}
    assert all(json.loads(x)["cost_usd"] > 0 for x in lines)  # priced, so budgets work offline
