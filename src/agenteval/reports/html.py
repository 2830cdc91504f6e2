"""report.html: one self-contained file (no network assets) that opens from disk."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from agenteval.reports import ReportData, fmt_ci, fmt_rate, shorten

HEATMAP_MAX = 40


@cache
def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("agenteval.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(rate=fmt_rate, ci=fmt_ci, shorten=shorten)
    return env


def warm_templates() -> None:
    """Load and compile the report template (done ahead of time while a run waits on the API)."""
    _env().get_template("report.html.j2")


def render_html(data: ReportData) -> str:
    """Render the HTML report of a run."""
    card = data.record.scorecard
    heat = _heatmap(data)
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=data.record,
            h=data.record.headline,
            card=card,
            data=data,
            heat=heat,
            problems=[
                d for d in data.record.catalog.get("diagnostics", []) if d["severity"] != "info"
            ],
        )
    )


def _heatmap(data: ReportData) -> dict | None:
    """The confusion matrix restricted to labels involved in errors when the catalog is large."""
    card = data.record.scorecard
    if card is None or not card.scored:
        return None
    labels = list(card.labels)
    n = len(labels)
    matrix = [list(row) for row in card.confusion]
    involved = set()
    for i in range(n):
        for j, count in enumerate(matrix[i]):
            if count and i != j:
                involved.update({i, j} if j < n else {i})
    keep = (
        list(range(n))
        if n <= HEATMAP_MAX
        else sorted(
            involved, key=lambda i: -sum(matrix[i][j] for j in range(len(card.columns)) if j != i)
        )[:HEATMAP_MAX]
    )
    keep.sort()
    cols = keep + [len(card.columns) - 1]  # always show `invalid`
    peak = max((matrix[i][j] for i in keep for j in cols), default=0) or 1
    return {
        "rows": [labels[i] for i in keep],
        "cols": [card.columns[j] for j in cols],
        "cells": [[(matrix[i][j], i == j, matrix[i][j] / peak) for j in cols] for i in keep],
        "partial": len(keep) < n,
        "total": n,
    }
