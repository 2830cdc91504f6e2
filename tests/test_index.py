"""reports/index.html: every run of a reports folder, newest first, series split at each change."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import run_config

from agenteval.cli import main
from agenteval.config import EvalConfig
from agenteval.reports.pages import write_index


def test_every_run_refreshes_the_index_newest_first_with_a_new_series_at_a_change(
    demo_project: Path,
):
    first = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    index = Path("reports") / "index.html"
    assert index.exists() and first.record.run_id in index.read_text()
    second = run_config(EvalConfig(name="demo", router={"backend": "lexical"}), holdout="none")
    page = index.read_text()
    # the link text: one run id can be the start of another's (`...-demo`, `...-demo-1`)
    shown = [f">{r.record.run_id}</a>" for r in (second, first)]
    assert page.index(shown[0]) < page.index(shown[1])
    assert "new series: holdout changed" in page
    assert f'href="{second.record.run_id}/report.html"' in page


def test_report_rerenders_and_refreshes_the_index(demo_project: Path):
    run = run_config(EvalConfig(name="demo", router={"backend": "lexical"}))
    index = Path("reports") / "index.html"
    index.unlink()
    result = CliRunner().invoke(main, ["report", str(run.run_dir)])
    assert result.exit_code == 0, result.output
    assert run.record.run_id in index.read_text()
    assert str((run.run_dir / "report.html").resolve()) in result.output  # an absolute path


def test_an_empty_folder_says_there_is_no_run_yet(tmp_path: Path):
    page = write_index(tmp_path).read_text()
    assert "No run recorded here yet" in page


def test_a_hostile_eval_name_is_text_in_the_index(demo_project: Path):
    run_config(EvalConfig(name="<img src=x onerror=alert(1)>", router={"backend": "lexical"}))
    page = (Path("reports") / "index.html").read_text()
    assert "<img src=x" not in page and "&lt;img src=x" in page
