"""Pages that are not a run's report: a generated dataset's review page, an improve report.

They share the report's look (its style and jinja environment: autoescaped, control characters
written out). The review page holds its cases as JSON in a `<script type="application/json">`
block and builds its rows with `textContent`, so no case text is ever parsed as HTML.
"""

from __future__ import annotations

from typing import Any

from agenteval.reports.html import _env


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
