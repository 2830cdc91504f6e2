"""API keys never reach a file or the terminal, even when the API echoes one back (issue 11.15)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import example, given
from hypothesis import strategies as st
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


# --- a key however it is written: split across lines, escaped, upper-cased (issue 21 D.4) -----

BODY = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=95, max_size=95)
RENDERINGS = {
    "as is": lambda s: s,
    "upper-cased": str.upper,
    "URL-escaped": lambda s: s.replace("-", "%2D"),
    "URL-escaped, lower hex": lambda s: s.replace("-", "%2d"),
    "JSON-escaped": lambda s: s.replace("-", "\\u002d"),
}
BREAKS = ("\n", "\r\n", "\n    ", " \n\t", "\\n", "\\r\\n")


def _unrendered(text: str) -> str:
    """``text`` with every rendering and line break above undone (and lower-cased)."""
    text = text.lower().replace("%2d", "-").replace("\\u002d", "-")
    return re.sub(r"[ \t]*(?:\r?\n|\\r\\n|\\n)[ \t]*", "", text)


@given(
    body=BODY,
    render=st.sampled_from(sorted(RENDERINGS)),
    cut=st.integers(min_value=0, max_value=101),
    line_break=st.sampled_from(BREAKS),
)
@example(body="abcdefFAKEKEY" + "x" * 82, render="as is", cut=13, line_break="\n")
def test_an_anthropic_key_is_redacted_however_it_is_written(body, render, cut, line_break):
    key = "sk-ant-api03-" + body  # 108 characters long, as an Anthropic API key is
    head, tail = key[: 7 + cut], key[7 + cut :]
    shown = RENDERINGS[render](head) + (line_break if tail else "") + RENDERINGS[render](tail)
    assert redact(f"error: invalid key {shown}. Retry later") == (
        f"error: invalid key sk-ant-{REDACTED}. Retry later"
    )


@given(
    render=st.sampled_from(sorted(RENDERINGS)),
    cut=st.integers(min_value=1, max_value=len(PLAIN) - 1),
    line_break=st.sampled_from(BREAKS),
)
def test_a_registered_secret_is_redacted_however_it_is_written(render, cut, line_break):
    register_secret(PLAIN)
    shown = RENDERINGS[render](PLAIN[:cut]) + line_break + RENDERINGS[render](PLAIN[cut:])
    assert redact(f'{{"msg": "bad token {shown}"}}') == f'{{"msg": "bad token {REDACTED}"}}'


def test_a_whole_key_at_a_line_end_leaves_the_next_line_alone():
    key = "sk-ant-api03-" + "Zq7" * 31 + "xA"  # the length of an API key; registered nowhere
    assert redact(f"key {key}\nNext line") == f"key sk-ant-{REDACTED}\nNext line"
    assert redact(f"{key}\\n{key}") == f"sk-ant-{REDACTED}\\nsk-ant-{REDACTED}"


def _split_echo(req: StubRequest) -> Reply:
    sent = req.headers.get("x-api-key") or req.headers["authorization"].split()[-1]
    middle = len(sent) // 2
    return Reply.error(400, message=f"invalid key {sent[:middle]}\n{sent[middle:].upper()}")


def test_a_key_echoed_split_and_upper_cased_is_written_nowhere(tmp_path, monkeypatch):
    path = _project(tmp_path, "ANTHROPIC_API_KEY")
    with StubAnthropic(responder=_split_echo) as stub:
        monkeypatch.setenv("ANTHROPIC_API_KEY", SHAPED)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        result = CliRunner().invoke(main, ["run", str(path), "--plain"])
    files = _written(tmp_path)
    assert any(p.name == "results.jsonl" for p in files)
    assert "invalid key" in "".join(files.values())
    shown = {**files, Path("terminal"): result.output + (result.stderr or "")}
    for p, text in shown.items():
        assert SHAPED[13:29].lower() not in _unrendered(text), p
        assert SHAPED[40:56].lower() not in _unrendered(text), p
