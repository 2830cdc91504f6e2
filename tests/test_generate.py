"""`agenteval generate`: new cases from the stub, with provenance, review state and no repeats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml
from click.testing import CliRunner
from stub_anthropic import Reply, StubAnthropic

from agenteval.cases.datasets import load_dataset
from agenteval.cli import main

KEY = "sk-ant-test-generate-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[1]


def demo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "agents", tmp_path / "agents")
    return tmp_path / "agents"


def first_example_user(agents: Path) -> tuple[str, str]:
    from agenteval.cases.examples import extract_examples
    from agenteval.catalog import load_catalog

    for agent in load_catalog([agents]).agents:
        for ex in extract_examples(agent):
            if ex.user:
                return agent.name, ex.user
    raise AssertionError("the demo catalog has examples")


def writer(repeat: dict[str, str]):
    """Answers every generation request; for the agent in `repeat` it also repeats its example."""
    prompts: list[str] = []

    def respond(req):
        prompts.append(req.prompt)
        head = "Subagent: " if "Subagent: " in req.prompt else "Skill: "
        name = req.prompt.split(head, 1)[1].split("\n", 1)[0]
        neighbour = req.prompt.split("Neighbouring subagents", 1)[1].split("\n- ", 1)[1]
        neighbour = neighbour.split(":", 1)[0]
        items = [
            # words of the agent's own name, so no two agents' requests look alike
            {"kind": "target", "prompt": f"{name} {name[::-1]} target <b>&"},
            {
                "kind": "near-miss",
                "agent": neighbour,
                "prompt": f"{name[::-1]} near {neighbour} {name}",
            },
            {"kind": "none", "prompt": f"zone {name[::-1]} {name} question"},
            {"kind": "near-miss", "agent": "no-such-agent", "prompt": "names no neighbour"},
            {"kind": "target"},
        ]
        if name in repeat:
            items.append({"kind": "target", "prompt": repeat[name].upper() + "!"})
        return Reply.text("Here you are:\n```json\n" + json.dumps({"requests": items}) + "\n```")

    respond.prompts = prompts  # type: ignore[attr-defined]
    return respond


def test_generate_writes_a_reviewable_dataset_that_cases_and_run_accept(tmp_path, monkeypatch):
    agents = demo(tmp_path)
    owner, example = first_example_user(agents)
    responder = writer({owner: example})
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with StubAnthropic(responder=responder) as stub:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        out = tmp_path / "gen" / "generated.yaml"
        result = CliRunner().invoke(
            main, ["generate", "--agents", str(agents), "--per-agent", "3", "--out", str(out)]
        )
        assert result.exit_code == 0, result.output
    n_agents = len(list(agents.glob("*.md")))
    assert len(responder.prompts) == n_agents
    # the body, which the router never sees, is part of what the model is shown
    body_line = (agents / f"{owner}.md").read_text().strip().splitlines()[-1]
    assert any(body_line in p for p in responder.prompts)
    data = yaml.safe_load(out.read_text())
    cases = data["cases"]
    assert len(cases) == 3 * n_agents  # target, near-miss, none each; bad items left out
    assert f"left out: 1 repeating an example or another case, {2 * n_agents} malformed" in (
        result.output
    )
    assert all(c["review"] == "pending" for c in cases)
    first = cases[0]
    assert first["provenance"]["generated_by"].startswith("claude-")
    assert first["provenance"]["file"].endswith(".md") and len(first["provenance"]["sha256"]) == 64
    assert {c["provenance"]["kind"] for c in cases} == {"target", "near-miss", "none"}
    assert all(example.lower() not in c["prompt"].lower() for c in cases)
    assert out.read_text().startswith("# Cases written by `agenteval generate`")
    loaded = load_dataset(out)
    assert {c.origin for c in loaded.cases} == {"generated"}
    listed = CliRunner().invoke(main, ["cases", "--agents", str(agents), "--dataset", str(out)])
    assert listed.exit_code == 0, listed.output
    page = (tmp_path / "gen" / "generated.review.html").read_text()
    assert "<b>&" not in page and "\\u003cb\\u003e&" in page  # case text only as escaped JSON


def test_rejected_cases_are_left_out_of_runs_and_counted(tmp_path):
    path = tmp_path / "gen.yaml"
    path.write_text(
        "cases:\n"
        "  - {id: a, prompt: x, expected: none, provenance: {generated_by: m}, review: accepted}\n"
        "  - {id: b, prompt: y, expected: none, provenance: {generated_by: m}, review: rejected}\n"
        "  - {id: c, prompt: z, expected: none, provenance: {generated_by: m}}\n",
        encoding="utf-8",
    )
    loaded = load_dataset(path)
    assert [c.id for c in loaded.cases] == ["gen/a", "gen/c"] and loaded.rejected == 1


def test_a_review_state_that_is_not_known_is_an_error_naming_the_line(tmp_path):
    from agenteval.errors import DatasetError

    path = tmp_path / "gen.yaml"
    path.write_text(
        "cases:\n  - {id: a, prompt: one, expected: none}\n"
        "  - {id: b, prompt: two, expected: none, review: maybe}\n",
        encoding="utf-8",
    )
    try:
        load_dataset(path)
    except DatasetError as exc:
        assert exc.line == 3 and "review" in str(exc)
    else:
        raise AssertionError("an unknown review state must be refused")


def test_generate_without_a_key_is_an_error_before_any_call(tmp_path, monkeypatch):
    agents = demo(tmp_path)
    with StubAnthropic(responder=writer({})) as stub:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        result = CliRunner().invoke(main, ["generate", "--agents", str(agents)])
        assert result.exit_code == 2 and "ANTHROPIC_API_KEY" in result.output
        assert stub.count_endpoint("messages") == 0


def test_skills_get_cases_of_their_own_from_their_instructions(tmp_path, monkeypatch):
    project = tmp_path / "project"
    shutil.copytree(Path(__file__).parent / "fixtures" / "skills" / "project", project)
    responder = writer({})
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with StubAnthropic(responder=responder) as stub:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        out = tmp_path / "gen.yaml"
        result = CliRunner().invoke(
            main,
            ["generate", "--agents", str(project / ".claude" / "agents"), "--out", str(out)],
        )
        assert result.exit_code == 0, result.output
    skill_prompts = [p for p in responder.prompts if "\nSkill: skill:" in p]
    assert skill_prompts  # each skill is asked about as a skill
    expected = {next(iter(c.expected)) for c in load_dataset(out).cases}
    assert any(e.startswith("skill:") for e in expected)


def test_neighbours_come_from_the_last_run_of_the_catalog(demo_project, monkeypatch):
    from collections import Counter

    from conftest import run_config

    from agenteval.config import EvalConfig
    from agenteval.record.store import read_results

    run = run_config(EvalConfig(router={"backend": "lexical"}))
    pairs = Counter(
        (r.trial.expected[0], r.trial.label)
        for r in read_results(run.run_dir)
        if r.trial.label not in (None, "none")
        and not r.trial.correct
        and r.trial.expected[0] != "none"
    )
    (expected, got), _ = pairs.most_common(1)[0]
    responder = writer({})
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with StubAnthropic(responder=responder) as stub:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        result = CliRunner().invoke(main, ["generate", "--only", expected, "--out", "g.yaml"])
        assert result.exit_code == 0, result.output
    assert f"neighbours: the confusions of {run.run_dir.resolve()}" in result.output
    (prompt,) = responder.prompts
    assert f"\n- {got}: " in prompt.split("Neighbouring subagents", 1)[1]
