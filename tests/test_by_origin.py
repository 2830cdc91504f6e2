"""Every headline number broken down by origin: examples, datasets, generated cases."""

from __future__ import annotations

from pathlib import Path

from conftest import run_config

from agenteval.config import EvalConfig


def write_generated(path: Path) -> Path:
    path.write_text(
        "cases:\n"
        "  - id: g1\n"
        "    prompt: Add a GraphQL mutation that archives a project\n"
        "    expected: backend-code-developer\n"
        "    provenance: {generated_by: claude-test, kind: target}\n"
        "  - id: g2\n"
        "    prompt: What is the capital of France?\n"
        "    expected: none\n"
        "    provenance: {generated_by: claude-test, kind: none}\n"
        "    review: accepted\n",
        encoding="utf-8",
    )
    return path


def test_each_origin_is_scored_alone_in_the_record_and_every_report(demo_project: Path):
    generated = write_generated(demo_project / "datasets" / "generated.yaml")
    datasets = [str(p) for p in sorted((demo_project / "datasets").glob("*.yaml"))]
    run = run_config(EvalConfig(name="demo", router={"backend": "lexical"}, datasets=datasets))
    by_origin = run.record.by_origin
    assert list(by_origin) == ["example", "dataset", "generated"]
    assert by_origin["generated"].cases == 2
    assert sum(h.cases for h in by_origin.values()) == run.record.headline.cases
    right = sum(h.correct for h in by_origin.values())
    assert right == run.record.headline.correct
    md = (run.run_dir / "report.md").read_text(encoding="utf-8")
    assert "| generated | 2 |" in md
    html = (run.run_dir / "report.html").read_text(encoding="utf-8")
    assert 'id="by-origin"' in html and "<td>generated</td>" in html
    assert generated.exists()


def test_a_run_of_one_origin_has_no_breakdown(demo_project: Path):
    run = run_config(EvalConfig(name="demo", router={"backend": "lexical"}, datasets=[]))
    assert run.record.by_origin == {}
    assert 'id="by-origin"' not in (run.run_dir / "report.html").read_text(encoding="utf-8")
