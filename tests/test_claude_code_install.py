"""One Claude Code locator: the catalog's reading, capture and the claude-cli router find one
`claude` by one rule, ask its version once, and no router constructor runs it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agenteval.catalog import read_as_claude_code
from agenteval.claude_code_install import ask_version, find_binary, locate, pinned_version
from agenteval.errors import RouterError
from agenteval.routing import PreparedRouter
from agenteval.routing.api import PromptRouter
from agenteval.routing.claude_cli import ClaudeCliRouter
from agenteval.routing.profiles.profile import Profile, ProfileStore, Slot

FIXTURE_AGENTS = Path(__file__).parent / "fixtures" / "formats"


def fake_claude(folder: Path, version: str) -> Path:
    """A `claude` that prints `version` and appends its arguments to `calls.log` beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "claude"
    exe.write_text(
        f'#!/bin/sh\necho "$@" >> "{folder / "calls.log"}"\necho "{version} (Claude Code)"\n',
        encoding="utf-8",
    )
    exe.chmod(0o755)
    return exe


def calls(exe: Path) -> list[str]:
    log = exe.parent / "calls.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def on_path(monkeypatch: pytest.MonkeyPatch, exe: Path) -> None:
    monkeypatch.setenv("PATH", f"{exe.parent}{os.pathsep}{os.environ.get('PATH', '')}")


def some_folder() -> Path:
    return next(p for p in sorted(FIXTURE_AGENTS.iterdir()) if p.is_dir())


def test_catalog_reading_and_the_cli_router_use_one_binary_and_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path(monkeypatch, fake_claude(tmp_path / "path-bin", "7.7.1"))
    chosen = fake_claude(tmp_path / "env-bin", "7.7.2")
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(chosen))
    reading = read_as_claude_code([some_folder()])
    router = ClaudeCliRouter(api_key="sk-ant-test")
    router.prepare(lambda _: None)
    assert (router.claude_code.binary, router.cli_version) == (chosen, reading.version)


def test_the_binary_is_the_option_then_the_variable_then_tools_then_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path(monkeypatch, fake_claude(tmp_path / "path-bin", "1.0.0"))
    tools = fake_claude(tmp_path / "project" / ".tools" / "node_modules" / ".bin", "1.0.1")
    env = fake_claude(tmp_path / "env-bin", "1.0.2")
    option = fake_claude(tmp_path / "option-bin", "1.0.3")
    project = tmp_path / "project"
    seen = [find_binary(cwd=tmp_path).source]
    seen.append(find_binary(cwd=project).source)
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(env))
    seen.append(find_binary(cwd=project).source)
    seen.append(find_binary(option, cwd=project).source)
    assert seen == ["PATH", "./.tools", "$AGENTEVAL_CLAUDE", "router.claude"]
    assert locate(option, cwd=project).version == "1.0.3"
    assert find_binary(cwd=project).path == env and tools.is_file()


def test_a_named_binary_that_does_not_exist_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_path(monkeypatch, fake_claude(tmp_path / "path-bin", "1.0.0"))
    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(tmp_path / "nope"))
    with pytest.raises(RouterError, match=r"AGENTEVAL_CLAUDE = .*nope is not an executable"):
        find_binary()


def test_the_version_is_asked_once_per_binary_until_it_changes(tmp_path: Path) -> None:
    exe = fake_claude(tmp_path / "bin", "3.2.1")
    assert ask_version(exe) == ask_version(exe) == "3.2.1"
    assert calls(exe) == ["--version"]
    fake_claude(tmp_path / "bin", "3.2.10")  # reinstalled: another size
    assert ask_version(exe) == "3.2.10"
    assert calls(exe) == ["--version", "--version"]


def test_without_a_cli_the_catalog_is_read_by_the_pinned_version(tmp_path: Path) -> None:
    assert read_as_claude_code([some_folder()]).version == pinned_version()


def test_constructing_the_cli_router_runs_nothing_and_prepare_asks_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_claude(tmp_path / "bin", "5.4.3")
    on_path(monkeypatch, exe)
    router = ClaudeCliRouter(api_key="sk-ant-test", model="haiku")
    assert calls(exe) == []
    said: list[str] = []
    assert isinstance(router, PreparedRouter)
    router.prepare(said.append)
    assert calls(exe) == ["--version"]
    assert said == [f"asking {exe} for its version"]
    assert router.describe()["cli_version"] == "5.4.3"


def test_an_unprepared_cli_router_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    on_path(monkeypatch, fake_claude(tmp_path / "bin", "5.4.3"))
    router = ClaudeCliRouter(api_key="sk-ant-test")
    with pytest.raises(RouterError, match="prepare"):
        router.describe()


def stored_profile(version: str, alias: str) -> Profile:
    slot = Slot(path=("messages", 0, "content", 0, "text"), start=0, end=1)
    return Profile(
        cli_version=version,
        alias=alias,
        model="claude-test-model-9",
        shape="agents",
        body={"max_tokens": 777, "messages": [{"role": "user", "content": [{"text": "x"}]}]},
        headers={},
        listing=slot,
        request=slot,
        builtins=(),
    )


def test_constructing_the_api_router_captures_nothing_until_prepared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_claude(tmp_path / "bin", "6.5.4")
    on_path(monkeypatch, exe)
    ProfileStore().save(stored_profile("6.5.4", "sonnet"))  # so prepare needs no capture
    router = PromptRouter.from_options({"model": "sonnet", "client": "mock"})
    assert calls(exe) == []
    said: list[str] = []
    router.prepare(said.append)
    assert calls(exe) == ["--version"]
    assert said == [f"asking {exe} for its version"]
    assert (router.model, router.max_tokens) == ("claude-test-model-9", 777)
    assert router.describe()["profile"] == "6.5.4"


def test_the_api_router_names_the_capture_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = fake_claude(tmp_path / "bin", "6.5.5")
    on_path(monkeypatch, exe)
    router = PromptRouter.from_options({"model": "sonnet", "client": "mock"})
    said: list[str] = []
    with pytest.raises(RouterError):  # the fake prints no request: the capture fails
        router.prepare(said.append)
    assert said[-1].startswith("capturing the request layout from Claude Code 6.5.5")
    assert len(calls(exe)) > 1


def test_a_run_records_the_cli_it_found_once_as_its_reading_used_it(
    demo_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from agenteval.cli import main
    from agenteval.record.store import load_record

    monkeypatch.setenv("AGENTEVAL_CLAUDE", str(fake_claude(demo_project / "bin", "7.7.3")))
    out = demo_project / "reports" / "located"
    args = ["run", "--router", "lexical", "--limit", "2", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    (run_dir,) = (d for d in out.iterdir() if (d / "summary.json").is_file())
    record = load_record(run_dir)
    assert record.versions["claude-code"] == record.catalog.claude_code_version == "7.7.3"
    assert calls(demo_project / "bin" / "claude") == ["--version"]


def test_a_run_without_a_cli_records_none(demo_project: Path) -> None:
    from click.testing import CliRunner

    from agenteval.cli import main
    from agenteval.record.store import load_record

    out = demo_project / "reports" / "none"
    result = CliRunner().invoke(
        main, ["run", "--router", "lexical", "--limit", "2", "--out", str(out)]
    )
    assert result.exit_code in (0, 1), result.output
    (run_dir,) = (d for d in out.iterdir() if (d / "summary.json").is_file())
    assert "claude-code" not in load_record(run_dir).versions


def test_the_catalog_is_read_by_the_binary_the_router_option_names(
    demo_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agenteval.config import EvalConfig, RouterConfig
    from agenteval.pipeline.inputs import prepare
    from agenteval.settings import Overrides, resolve

    on_path(monkeypatch, fake_claude(demo_project / "path-bin", "7.7.4"))
    named = fake_claude(demo_project / "named-bin", "7.7.5")
    router = RouterConfig.model_validate({"backend": "claude-cli", "claude": str(named)})
    config = EvalConfig(agents=[str(demo_project / "agents")], router=router)
    loaded, _, _ = prepare(resolve(config, Overrides(limit=1)))
    assert loaded.catalog.claude_code is not None
    assert loaded.catalog.claude_code.version == "7.7.5"
