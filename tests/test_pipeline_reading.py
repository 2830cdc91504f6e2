"""`agenteval run` routes the catalog as Claude Code reads it (issue 9, part 2).

The catalog below has one file Claude Code skips (cron-expert: unindented example lines), one
whose description it cuts to the first line (docs-writer: `user:` at column 0 becomes a key) and
one it reads whole (sql-tuner). Cases still come from what the author meant, so cron-expert's
example runs and is scored `unlisted`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, run_config

from agenteval.cases import UNLISTED_LABEL
from agenteval.catalog import load_catalog
from agenteval.catalog.claude_code import default_version
from agenteval.cli import main
from agenteval.config import EvalConfig, load_config
from agenteval.errors import ConfigError, ExitCode
from agenteval.record.store import load_record, read_results
from agenteval.routing.mock import MockRouter
from agenteval.routing.prompt import listing

DOCS_WRITER = """\
---
name: docs-writer
description: Use this agent to write API docs: reference pages and guides. Example:
user: "Document the /orders endpoint"
assistant: "I'll use the docs-writer agent to write the reference page."
---
You write API documentation.
"""
CUT = "Use this agent to write API docs: reference pages and guides. Example:"


@pytest.fixture
def agents(tmp_path: Path) -> Path:
    folder = tmp_path / "agents"
    folder.mkdir()
    shutil.copy(FIXTURES / "formats" / "05-unindented-continuation" / "cron-expert.md", folder)
    shutil.copy(FIXTURES / "formats" / "04-block-scalars" / "sql-tuner.md", folder)
    (folder / "docs-writer.md").write_text(DOCS_WRITER, encoding="utf-8")
    return folder


def _config(agents: Path, **extra: object) -> EvalConfig:
    return EvalConfig.model_validate(
        {"agents": [str(agents)], "datasets": [], "holdout": "none", "cache": False, **extra}
    )


def test_the_fixture_is_what_the_tests_say(agents):
    catalog = load_catalog([agents])
    assert catalog.names == ("cron-expert", "docs-writer", "sql-tuner")
    assert catalog.claude_code is not None
    assert catalog.claude_code.names == ("docs-writer", "sql-tuner")
    assert catalog.unlisted == ("cron-expert",)


def test_a_default_run_routes_what_claude_code_shows(agents):
    router = MockRouter()
    outcome = run_config(_config(agents), router=router)
    assert router.requests, "the mock router was asked nothing"
    for request in router.requests:
        assert [a.name for a in request.view.agents] == ["docs-writer", "sql-tuner"]
        shown = {a.name: a.description for a in request.view.agents}
        assert shown["docs-writer"] == CUT  # cut, as Claude Code shows it
        text = listing(request.view.agents)  # the agent list a prompt router renders
        assert f"- docs-writer: {CUT} (Tools: " in text and "cron-expert" not in text
    assert outcome.record.catalog.reading == "claude-code"
    assert outcome.record.catalog.claude_code_version == default_version()


def test_a_case_whose_agent_claude_code_never_lists_is_unlisted_not_a_misroute(agents):
    outcome = run_config(_config(agents), router=MockRouter())
    rows = {r.case.id: r.trial for r in read_results(outcome.run_dir)}
    assert set(rows) == {"cron-expert/ex1", "sql-tuner/ex1", "sql-tuner/ex2"}  # it still runs
    assert rows["cron-expert/ex1"].label == UNLISTED_LABEL
    assert not rows["cron-expert/ex1"].correct
    card = outcome.record.scorecard
    assert card is not None
    assert (card.unlisted, card.correct, card.scored) == (1, 2, 3)
    assert UNLISTED_LABEL in card.columns and UNLISTED_LABEL not in card.labels
    assert all(c.got != UNLISTED_LABEL for c in card.top_confusions)  # apart from misroutes
    cron = card.agent("cron-expert")
    assert cron is not None and (cron.recall.k, cron.recall.n) == (0, 1)
    assert outcome.record.catalog.unlisted == ("cron-expert",)
    assert outcome.record.catalog.unlisted_cases == 1


def test_reading_recovered_routes_every_agent_as_the_author_meant(agents):
    router = MockRouter()
    outcome = run_config(_config(agents, catalog={"reading": "recovered"}), router=router)
    names = [a.name for a in router.requests[0].view.agents]
    assert names == ["cron-expert", "docs-writer", "sql-tuner"]
    shown = {a.name: a.description for a in router.requests[0].view.agents}
    assert shown["docs-writer"].startswith(CUT) and len(shown["docs-writer"]) > len(CUT)
    card = outcome.record.scorecard
    assert card is not None and card.unlisted == 0 and UNLISTED_LABEL not in card.columns
    assert card.correct == 3
    assert outcome.record.catalog.reading == "recovered"


def test_an_unknown_reading_is_refused_with_the_line(tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text("name: x\ncatalog:\n  reading: lenient\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.line == 3 and "catalog.reading" in err.value.message


def test_the_catalog_errors_gate_fails_the_run_and_names_the_count(agents):
    outcome = run_config(_config(agents, gates={"max_catalog_errors": 0}), router=MockRouter())
    assert outcome.exit_code == ExitCode.GATE_FAILED
    gate = next(g for g in outcome.record.gates if g.name == "max_catalog_errors")
    assert not gate.passed
    assert gate.value == 2  # cron-expert skipped, docs-writer cut
    assert "2 catalog errors > 0" in gate.message
    loose = run_config(_config(agents, gates={"max_catalog_errors": 2}), router=MockRouter())
    assert loose.exit_code == ExitCode.OK


def test_a_count_gate_takes_a_count(tmp_path):
    path = tmp_path / "eval.yaml"
    path.write_text("gates:\n  max_catalog_errors: 0.5\n")
    with pytest.raises(ConfigError, match="max_catalog_errors"):
        load_config(path)


def test_terminal_and_reports_name_the_files_claude_code_skips_or_cuts(agents, tmp_path):
    config = tmp_path / "eval.yaml"
    config.write_text(
        json.dumps({"agents": [str(agents)], "datasets": [], "holdout": "none", "cache": False})
    )
    result = CliRunner().invoke(main, ["run", str(config), "--router", "mock"], terminal_width=200)
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    run_dir = max(p for p in (tmp_path / "reports").iterdir() if p.is_dir())
    markdown = (run_dir / "report.md").read_text(encoding="utf-8")
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    head = html[: html.index('id="catalog-problems"') + 3000]
    for text in (flat, " ".join(markdown.split()), " ".join(head.split())):
        assert "Claude Code skips 1 file: cron-expert.md" in text
        assert "cuts 1 description: docs-writer.md" in text
        assert "1 agent Claude Code never lists; 1 case can never route" in text
        assert f"Claude Code {default_version()} reading" in text
    record = load_record(run_dir)  # the saved record says it too, and reads back typed
    assert record.catalog.claude_code_version == default_version()
    assert [f.path for f in record.catalog.skipped] == [str(agents / "cron-expert.md")]
    assert [f.agent for f in record.catalog.cut] == ["docs-writer"]


def test_unlisted_cases_are_listed_apart_from_misroutes_in_every_report(agents):
    outcome = run_config(_config(agents), router=MockRouter())
    markdown = (outcome.run_dir / "report.md").read_text(encoding="utf-8")
    html = (outcome.run_dir / "report.html").read_text(encoding="utf-8")
    junit = (outcome.run_dir / "junit.xml").read_text(encoding="utf-8")
    assert "### Misroutes" not in markdown  # the router picked right among what it was shown
    assert "Cases that can never route (1)" in markdown and "`cron-expert/ex1`" in markdown
    assert "<h2>Misroutes (0)</h2>" in html and 'id="unlisted"' in html
    assert 'failures="1"' in junit and 'type="Unlisted"' in junit


def test_held_out_views_are_cut_from_claude_codes_reading(agents):
    router = MockRouter()
    outcome = run_config(_config(agents, holdout="kfold:2"), router=router)
    assert outcome.exit_code == ExitCode.OK
    for request in router.requests:
        assert "cron-expert" not in request.view.names
        shown = {a.name: a.description for a in request.view.agents}
        assert shown["docs-writer"] == CUT
        if request.case.agent == "sql-tuner":  # its own example is held out of its view
            assert request.case.prompt not in shown["sql-tuner"]
