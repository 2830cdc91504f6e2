"""The claude-cli router on the user's Claude Code login (no API key): a subscription's OAuth
token, from CLAUDE_CODE_OAUTH_TOKEN or the credentials the CLI keeps, sent as a bearer token."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from cli_support import claude_path
from click.testing import CliRunner
from stub_anthropic import StubAnthropic
from test_claude_cli import VIEW, case

from agenteval.cli import main
from agenteval.errors import RouterError
from agenteval.routing import RouteRequest, capabilities_of
from agenteval.routing.claude_cli import ClaudeCliRouter

TOKEN = "sk-ant-oat01-test-login-SECRET-0123456789"


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user with no API key, the CLI installed and a HOME of their own (returned)."""
    home = tmp_path / "user-home"
    (home / ".claude").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("CLAUDE_CODE_OAUTH_TOKEN", raising=False)
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(claude_path()))
    return home


def keep_credentials(home: Path, token: str, expires_at_ms: int) -> None:
    """Credentials as the CLI keeps them after a login (found by running it against the stub)."""
    oauth = {"accessToken": token, "refreshToken": "r", "expiresAt": expires_at_ms}
    data = json.dumps({"claudeAiOauth": oauth})
    (home / ".claude" / ".credentials.json").write_text(data, encoding="utf-8")


def route_once(tmp_path: Path, stub: StubAnthropic) -> ClaudeCliRouter:
    options = {"base_url": stub.base_url, "scratch_dir": str(tmp_path / "s"), "keep_scratch": True}
    r = ClaudeCliRouter.from_options(options)
    r.prepare(lambda message: None)
    d = asyncio.run(r.route(RouteRequest(case=case("what is 2 + 2?"), view=VIEW)))
    assert d.error is None, d.error
    return r


def test_with_no_key_it_runs_on_the_oauth_token_sent_as_a_bearer(
    user: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CODE_OAUTH_TOKEN", TOKEN)
    with StubAnthropic() as stub:
        r = route_once(tmp_path, stub)
        posts = [q for q in stub.requests if q.endpoint == "messages"]
    assert posts and {q.headers.get("authorization") for q in posts} == {f"Bearer {TOKEN}"}
    assert not any("x-api-key" in q.headers for q in posts)
    assert capabilities_of(r).pricing == "plan"
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(user)]
    assert any(p.name == ".claude.json" for p in written), "the CLI wrote nothing: no proof"
    for path in written:
        assert TOKEN.encode() not in path.read_bytes(), path


def test_with_no_key_it_runs_on_the_credentials_the_cli_keeps(user: Path, tmp_path: Path) -> None:
    keep_credentials(user, TOKEN, int((time.time() + 3600) * 1000))
    with StubAnthropic() as stub:
        route_once(tmp_path, stub)
        posts = [q for q in stub.requests if q.endpoint == "messages"]
    assert posts and {q.headers.get("authorization") for q in posts} == {f"Bearer {TOKEN}"}


def test_an_expired_login_is_refused_with_how_to_renew_it(user: Path) -> None:
    keep_credentials(user, TOKEN, int((time.time() - 60) * 1000))
    with pytest.raises(RouterError, match="expired") as e:
        ClaudeCliRouter.from_options({})
    assert "claude setup-token" in str(e.value.hint)


def test_with_no_key_and_no_login_it_says_both_ways_to_run(user: Path) -> None:
    with pytest.raises(RouterError, match="ANTHROPIC_API_KEY is not set") as e:
        ClaudeCliRouter.from_options({})
    assert "CLAUDE_CODE_OAUTH_TOKEN" in str(e.value.hint)


def test_estimate_says_a_login_run_draws_on_the_plan(
    user: Path, demo_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_CODE_OAUTH_TOKEN", TOKEN)
    args = ["estimate", "--router", "claude-cli", "--holdout", "none", "--limit", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    cost = next(x for x in result.output.splitlines() if x.startswith("estimated cost:"))
    assert cost.startswith("estimated cost: none per token: the run draws on your Claude plan")
    assert TOKEN not in result.output
