"""API keys never reach a file or the terminal, even when the API echoes one back (issue 11.15)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from stub_anthropic import Reply, StubAnthropic, StubRequest

from agenteval.cli import main
from agenteval.text import REDACTED, redact, register_secret

SHAPED = "sk-ant-api03-Echo7f3aQ9zXw2LmN8pRt5VbYc1KdJh4Gs6Fe0Ui-AbCdEfAA"
PLAIN = "corp-proxy-token-51c9e2d0a7b3"  # a configured key that looks like nothing in particular


def test_redact_removes_anthropic_shaped_keys_and_registered_secrets():
    assert SHAPED not in redact(f"invalid x-api-key: {SHAPED}.")
    assert redact(f"key {SHAPED}.") == f"key sk-ant-{REDACTED}."
    assert redact("sk-ant-admin01-abcdefgh1234 and more") == f"sk-ant-{REDACTED} and more"
    register_secret(PLAIN)
    assert redact(f'{{"msg": "bad token {PLAIN}"}}') == f'{{"msg": "bad token {REDACTED}"}}'
    assert redact(redact(f"{SHAPED} {PLAIN}")) == redact(f"{SHAPED} {PLAIN}")  # idempotent
    register_secret("short")  # too short to redact safely: ordinary words stay as they are
    assert redact("a short note") == "a short note"
    assert redact("") == "" and redact("nothing secret here") == "nothing secret here"


def _project(root: Path, api_key_env: str) -> Path:
    (root / "agents").mkdir()
    for name in ("sql-expert", "doc-writer"):
        (root / "agents" / f"{name}.md").write_text(
            f"---\nname: {name}\ndescription: Use this agent for {name} work.\n---\n\nYou are it.\n"
        )
    (root / "datasets").mkdir()
    cases = [
        {"id": f"c{i}", "prompt": f"Request number {i}", "expected": "sql-expert"} for i in range(3)
    ]
    (root / "datasets" / "ds.yaml").write_text(yaml.safe_dump({"cases": cases}))
    config = {
        "name": "echo",
        "agents": ["agents"],
        "datasets": ["datasets/ds.yaml"],
        "examples": False,
        "holdout": "none",
        "router": {"backend": "anthropic", "api_key_env": api_key_env},
    }
    (root / "eval.yaml").write_text(yaml.safe_dump(config))
    return root / "eval.yaml"


def _echo(status: int):
    def respond(req: StubRequest) -> Reply:
        sent = req.headers.get("x-api-key") or req.headers["authorization"].split()[-1]
        return Reply.error(status, message=f"invalid request for key {sent} (key={sent!r})")

    return respond


def _written(root: Path) -> dict[Path, str]:
    return {
        p: p.read_text(encoding="utf-8", errors="replace")
        for p in root.rglob("*")
        if p.is_file() and ".venv" not in p.parts
    }


@pytest.mark.parametrize("key, env", [(SHAPED, "ANTHROPIC_API_KEY"), (PLAIN, "CORP_LLM_KEY")])
@pytest.mark.parametrize("status", [400, 401])
def test_a_key_echoed_in_an_api_error_is_written_nowhere(tmp_path, monkeypatch, key, env, status):
    """400: every trial errors with the echo; 401: the run stops on it (the `error:` line)."""
    path = _project(tmp_path, env)
    with StubAnthropic(responder=_echo(status)) as stub:
        monkeypatch.setenv(env, key)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        result = CliRunner().invoke(main, ["run", str(path), "--plain"])
        assert any(r.api_key == key for r in stub.requests)  # the stub did see (and echo) it
    shown = result.output + (result.stderr or "")
    assert "invalid request for key" in shown or status == 400, shown
    assert key not in shown
    files = _written(tmp_path)
    assert any(p.name == "results.jsonl" for p in files) or status == 401
    assert any(p.name == "summary.json" for p in files)
    assert any(".agenteval-cache" in p.parts for p in files)
    assert "invalid request for key" in "".join(files.values())  # the error itself is kept
    for p, text in files.items():
        assert key not in text, p
        assert key[8:24] not in text, p  # no part of it, either
