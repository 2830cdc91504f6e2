"""Pages that are not a run's report: a generated dataset's review page, an improve report.

They share the report's look (its style and jinja environment: autoescaped, control characters
written out). The review page holds its cases as JSON in a `<script type="application/json">`
block and builds its rows with `textContent`, so no case text is ever parsed as HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agenteval.record.history import read_history, trend_rows
from agenteval.reports.html import _env

INDEX = "index.html"


def render_page(template: str, **context: Any) -> str:
    """Render one of the report templates with `context`."""
    return _env().get_template(template).render(**context)


def render_review(cases_json: str, name: str) -> str:
    """The review page of one generated dataset.

    Args:
        cases_json: `{"name", "model", "cases": [dataset rows]}` as JSON, with `<` and `>`
            written as JSON escapes so it cannot close the script block.
        name: The dataset file's name (the export is offered as `NAME.reviewed.yaml`).
    """
    return render_page("review.html.j2", cases_json=cases_json, name=name)


def refresh_index(run_dir: Path) -> Path | None:
    """Write the index of the reports folder holding `run_dir`, when that folder keeps a run
    history (a run folder elsewhere, e.g. a merged one, leaves no index beside it)."""
    from agenteval.record.history import HISTORY

    folder = Path(run_dir).resolve().parent
    return write_index(folder) if (folder / HISTORY).is_file() else None


def write_index(reports_dir: Path) -> Path:
    """Write `reports_dir/index.html`: one row per run in its history, newest first, with its
    headline numbers, settings and a link to its report; a run whose settings differ from its
    eval's previous run starts a new series (the trend is never read across a change)."""
    rows = list(reversed(trend_rows(read_history(reports_dir), last=None)))
    present = {r.run_id for r in rows if (reports_dir / r.run_id / "report.html").exists()}
    path = reports_dir / INDEX
    html = render_page("index.html.j2", rows=rows, present=present, folder=reports_dir.name)
    path.write_text(html, encoding="utf-8")
    return path
