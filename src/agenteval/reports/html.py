"""report.html: one self-contained file (no network assets) that opens from disk."""

from __future__ import annotations

from functools import cache
from typing import Any

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
    env.filters.update(
        rate=fmt_rate, ci=fmt_ci, shorten=shorten, sentence=lambda s: s[:1].upper() + s[1:]
    )
    return env


def warm_templates() -> None:
    """Load and compile the report template (done ahead of time while a run waits on the API)."""
    _env().get_template("report.html.j2")


def render_html(data: ReportData) -> str:
    """Render the HTML report of a run."""
    card = data.record.scorecard
    heat = _heatmap(data)
    chart = history_chart(data)
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=data.record,
            h=data.record.headline,
            card=card,
            data=data,
            heat=heat,
            chart=chart,
            problems=[
                d for d in data.record.catalog.get("diagnostics", []) if d["severity"] != "info"
            ],
        )
    )


def _heatmap(data: ReportData) -> dict[str, Any] | None:
    """The confusion matrix; for a large catalog, the rows and columns with the most errors.

    Rows are the expected labels that lost the most cases, columns the labels those cases went
    to (the `invalid` column is kept whenever it holds any), so a 200-agent heatmap stays dense.
    """
    card = data.record.scorecard
    if card is None or not card.scored:
        return None
    labels, columns = list(card.labels), list(card.columns)
    n = len(labels)
    matrix = [list(row) for row in card.confusion]
    invalid = len(columns) - 1
    if n <= HEATMAP_MAX:
        rows, cols = list(range(n)), [*range(n), invalid]
    else:
        lost = {i: sum(c for j, c in enumerate(matrix[i]) if j != i) for i in range(n)}
        rows = sorted((i for i in lost if lost[i]), key=lambda i: (-lost[i], labels[i]))
        rows = sorted(rows[:HEATMAP_MAX])
        went = {j: sum(matrix[i][j] for i in rows if i != j) for j in range(len(columns))}
        cols = sorted((j for j in went if went[j] and j != invalid), key=lambda j: -went[j])
        cols = sorted({*cols[:HEATMAP_MAX], *(r for r in rows if r in cols[:HEATMAP_MAX])})
        if went[invalid]:
            cols.append(invalid)
    peak = max((matrix[i][j] for i in rows for j in cols), default=0) or 1
    return {
        "rows": [labels[i] for i in rows],
        "cols": [columns[j] for j in cols],
        "cells": [[(matrix[i][j], i == j, matrix[i][j] / peak) for j in cols] for i in rows],
        "partial": len(rows) < n,
        "total": n,
    }


def history_chart(data: ReportData, width: int = 760, height: int = 220) -> dict[str, Any] | None:
    """Coordinates for the accuracy-over-runs SVG (drawn server-side: no script, no assets)."""
    rows = [r for r in data.history if r.accuracy is not None]
    if len(rows) < 2:
        return None
    left, right, top, bottom = 48, 44, 12, 28
    span_x = (width - left - right) / max(1, len(rows) - 1)

    def y_of(v: float) -> float:
        return round(top + (1 - v) * (height - top - bottom), 1)

    every = max(1, len(rows) // 6)
    points = []
    for i, r in enumerate(rows):
        assert r.accuracy is not None  # rows without an accuracy were left out above
        x = round(left + i * span_x, 1)
        points.append(
            {
                "x": x,
                "y": y_of(r.accuracy),
                "run_id": r.run_id,
                "accuracy": r.accuracy,
                "delta": r.delta,
                "changed": r.router_changed or r.catalog_changed,
                "current": r.run_id == data.record.run_id,
                "low_y": y_of(r.accuracy_low) if r.accuracy_low is not None else None,
                "high_y": y_of(r.accuracy_high) if r.accuracy_high is not None else None,
                "label": _short_date(r.created_at) if i % every == 0 or i == len(rows) - 1 else "",
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "points": points,
        "path": " ".join(f"{p['x']},{p['y']}" for p in points),
        "grid": [(y_of(v), f"{int(v * 100)}%") for v in (0, 0.25, 0.5, 0.75, 1.0)],
    }


def _short_date(stamp: str) -> str:
    return f"{stamp[5:10]} {stamp[11:16]}" if len(stamp) >= 16 else stamp
