"""`agenteval estimate` (execution/estimate.py, pipeline/estimate.py): every router is priced as
it declares itself, with no API key (estimating spends nothing)."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest
from cli_support import claude_path
from click.testing import CliRunner

from agenteval import routing
from agenteval.cli import main
from agenteval.execution.runner import RunPlan
from agenteval.pipeline import estimate_eval
from agenteval.pipeline.inputs import prepare
from agenteval.routing import RouterEntry, RouteRequest
from agenteval.settings import Overrides, resolve

THIRD_PARTY = '''
import hashlib
from agenteval.routing import Capabilities, Decision


class _Base:
    @classmethod
    def from_options(cls, options):
        return cls()

    @property
    def fingerprint(self):
        return hashlib.sha256(self.name.encode()).hexdigest()[:16]

    def describe(self):
        return {"backend": self.name, "model": "remote-model"}

    async def route(self, request):
        return Decision(agent=None, cost_usd=self.cost)

    async def aclose(self):
        return None


class LocalRouter(_Base):
    """Runs on this machine and says so."""

    name = "local-third"
    cost = 0.0
    capabilities = Capabilities(offline=True, pricing="none")


class QuietRouter(_Base):
    """Declares nothing: its cost is unknown, and said to be."""

    name = "quiet-third"
    cost = None
'''


@pytest.fixture
def third_party(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two routers of an installed package, found through the registry like entry points."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "third_routers.py").write_text(textwrap.dedent(THIRD_PARTY), encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    found = dict(routing.registry())
    for name, cls in (("local-third", "LocalRouter"), ("quiet-third", "QuietRouter")):
        found[name] = RouterEntry(name=name, target=f"third_routers:{cls}", builtin=False)
    monkeypatch.setattr(routing, "registry", lambda: found)


def estimate(*args: str) -> str:
    result = CliRunner().invoke(main, ["estimate", *args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("key", [None, "sk-ant-test-estimate-0000"])
def test_an_offline_router_costs_none_with_a_key_or_without(demo_project, monkeypatch, key):
    if key:
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    out = estimate("--router", "lexical", "--holdout", "none", "--limit", "5")
    assert "estimated cost: none (offline router)" in out.splitlines()
    assert "requests: 5 to send" in out


def test_the_claude_cli_router_is_estimated_without_a_key_at_its_worst_case(
    demo_project, monkeypatch
):
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    settings = resolve(
        routing_config(demo_project), Overrides(backend="claude-cli", holdout="none", limit=2)
    )
    e = estimate_eval(settings)
    router = routing.router_factory("claude-cli").from_options({}, offline=True)
    router.prepare(lambda message: None)  # as estimate does: the CLI's version is asked first
    _, cases, views = prepare(settings)
    plan = RunPlan(cases=cases, views=views, trials=1)
    bounds = [
        asyncio.run(router.cost_bound(RouteRequest(case=c, view=views.for_case(c), trial=t)))
        for c, t in plan.pending()
    ]
    assert e.requests == len(bounds) and None not in bounds
    assert e.cost_usd == pytest.approx(sum(b for b in bounds if b is not None))
    assert e.method.startswith("worst case")
    out = estimate("--router", "claude-cli", "--holdout", "none", "--limit", "2")
    assert f"estimated cost: ${e.cost_usd:.4f}" in out.splitlines()


def test_the_claude_cli_router_with_an_unpriced_model_costs_unknown_and_says_why(
    demo_project, monkeypatch
):
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    model = "claude-unknown-9"
    out = estimate("--router", "claude-cli", "--model", model, "--holdout", "none", "--limit", "1")
    cost = next(x for x in out.splitlines() if x.startswith("estimated cost:"))
    why = f"no price for {model} in the price table; add it under router.prices"
    assert cost == f"estimated cost: unknown ({why})"


def test_an_undeclared_third_party_router_costs_unknown_and_says_why(demo_project, third_party):
    out = estimate("--router", "quiet-third", "--holdout", "none", "--limit", "3")
    cost = next(x for x in out.splitlines() if x.startswith("estimated cost:"))
    assert cost == f"estimated cost: unknown ({routing.UNDECLARED.reason})"
    assert "requests: 3 to send" in out


def test_a_third_party_router_declared_offline_costs_none(demo_project, third_party):
    out = estimate("--router", "local-third", "--holdout", "none", "--limit", "3")
    assert "estimated cost: none (offline router)" in out.splitlines()


def routing_config(project: Path):
    from agenteval.config import load_config

    return load_config(project / "evals" / "quickstart.yaml")
