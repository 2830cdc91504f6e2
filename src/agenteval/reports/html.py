"""report.html: one self-contained file (no network assets) that opens from disk."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from agenteval.reports import (
    LEXICAL_FLOOR,
    ReportData,
    count_problems,
    fmt_ci,
    fmt_kn,
    fmt_rate,
    shorten,
)
from agenteval.scoring.scorecard import true_label
from agenteval.templating import environment
from agenteval.text import visible

HEATMAP_MAX = 40
OTHER = "other"
MISROUTE_PAIRS_SHOWN = 25  # confused pairs listed (folded) before "show all"
EXPLAIN_PROMPT_MAX = 600  # characters of a request kept for the click-to-explain panel


@cache
def _env() -> Environment:
    env = environment(
        PackageLoader("agenteval.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_visible,  # autoescape handles markup; this writes control characters out
    )
    env.filters.update(
        rate=fmt_rate,
        ci=fmt_ci,
        kn=fmt_kn,
        shorten=shorten,
        clip=clip,
        sentence=lambda s: s[:1].upper() + s[1:],
    )
    env.globals["LEXICAL_FLOOR"] = LEXICAL_FLOOR
    return env


def _visible(value: Any) -> Any:
    if type(value) is str and value.isascii() and value.isprintable():
        return value  # most cells: `visible`'s own fast path, without a second call
    if isinstance(value, Markup) or not isinstance(value, str):  # `tojson` output is done
        return value
    return visible(value, multiline=True)


def render_html(data: ReportData) -> str:
    """Render the HTML report of a run."""
    card = data.record.scorecard
    problems = data.problems
    explain = _explain(data)
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            r=data.record,
            h=data.record.headline,
            card=card,
            data=data,
            heat=_heatmap(data),
            chart=history_chart(data),
            problems=problems,
            problem_counts=count_problems(problems),
            catalog_errors=sum(d.severity == "error" for d in problems),
            explain=explain,
            why_names={c[3] for c in explain["cases"]} | {c[4] for c in explain["cases"]},
            misroute_groups=_misroute_groups(data),
            pairs_shown=MISROUTE_PAIRS_SHOWN,
            worst_ties=_worst_ties(data),
            relpath=data.display_path,
        )
    )


def _worst_ties(data: ReportData) -> int:
    """How many other agents share the worst recall (the card names only one)."""
    card = data.record.scorecard
    low = data.record.headline.min_agent_recall
    if card is None or low is None:
        return 0
    return sum(1 for a in card.worst_agents(len(card.agents)) if a.recall.value == low) - 1


def clip(text: str | None, limit: int = 2000) -> str:
    """Cut long text to `limit` characters, keeping its newlines and indentation."""
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _heatmap(data: ReportData) -> dict[str, Any] | None:
    """The confusion matrix; for a large catalog, the rows and columns with the most impact.

    Rows are the expected labels that lost the most cases (ties: the larger share of their
    cases, then the one confusion that took most of them), columns the labels those cases went
    to, most first, plus `other` for the cases that went to a label not shown as a column, so
    every lost case of a shown row is in some cell. Extra columns (`invalid`, ...) are kept
    whenever they hold any.
    """
    card = data.record.scorecard
    if card is None or not card.scored:
        return None
    labels, columns = list(card.labels), list(card.columns)
    n = len(labels)
    count = {(i, j): c for i, j, c in card.confusion_cells}
    extra = list(range(n, len(columns)))
    if n <= HEATMAP_MAX:
        rows, cols, other = list(range(n)), [*range(n), *extra], False
    else:
        lost = [0] * n
        support = [0] * n
        biggest = [0] * n
        for (i, j), c in count.items():
            support[i] += c
            if i != j:
                lost[i] += c
                biggest[i] = max(biggest[i], c)
        hit = [i for i in range(n) if lost[i]]
        hit.sort(key=lambda i: (-lost[i], -lost[i] / support[i], -biggest[i], labels[i]))
        rows = hit[:HEATMAP_MAX]
        chosen = set(rows)
        went: dict[int, int] = {}
        for (i, j), c in count.items():
            if i in chosen and i != j and j < n:
                went[j] = went.get(j, 0) + c
        cols = sorted(went, key=lambda j: (-went[j], columns[j]))[:HEATMAP_MAX]
        cols += [j for j in extra if any(count.get((i, j)) for i in rows)]
        other = True
    shown = set(cols)
    rest = [0] * n  # per row: the lost cases that went to a label not shown as a column
    for (i, j), c in count.items():
        if i != j and j not in shown:
            rest[i] += c
    cells = []
    for i in rows:
        line = [(count.get((i, j), 0), i == j) for j in cols]
        if other:
            line.append((rest[i], False))
        cells.append(line)
    peak = max((c for line in cells for c, _ in line), default=0) or 1
    return {
        "rows": [labels[i] for i in rows],
        "cols": [columns[j] for j in cols] + ([OTHER] if other else []),
        "cells": [[(c, diag, c / peak) for c, diag in line] for line in cells],
        "partial": len(rows) < n,
        "total": n,
    }


def _misroute_groups(data: ReportData) -> list[tuple[str, str, list[tuple[Any, ...]]]]:
    """The misroutes by confused pair, each pair's cells picked out here: a table of thousands
    of rows renders several times faster from tuples than through the template's attribute
    lookups, calls and loop variables."""
    return [
        (
            group.expected,
            group.got,
            [
                (
                    row.case.id,
                    row.trial.trial,
                    data.display_path(row.case.source),
                    row.case.prompt,
                    row.trial.expected[1:],  # the other acceptable agents
                    row.trial.decision.raw if row.trial.label == "invalid" else None,
                    clip(row.trial.decision.rationale, 600),
                )
                for row in group.rows
            ],
        )
        for group in data.misroute_groups
    ]


def _explain(data: ReportData) -> dict[str, Any]:
    """What the click-to-explain panel needs: misrouted cases and the descriptions involved.

    Each case carries where its request sits in its agent's description (UTF-16 offsets, as the
    page's script counts) when it is one of the description's examples: the panel marks it, as
    held out from the router when the run held examples out. Goes into the page as one
    `<script type="application/json">` block (`tojson` escapes `<`, `>`, `&` and `'` there), and
    the page's script builds the panel with text nodes only.
    """
    involved = {true_label(r.trial) for r in data.misroutes} | {
        str(r.trial.label) for r in data.misroutes
    }
    agents = {a.name: a.description or "" for a in data.record.catalog.agents if a.name in involved}
    cases = [
        [
            row.case.id,
            row.trial.trial,
            clip(row.case.prompt, EXPLAIN_PROMPT_MAX),
            true_label(row.trial),
            row.trial.label,
            _where(agents.get(true_label(row.trial), ""), row.case.prompt)
            if row.case.origin == "example"
            else None,
        ]
        for row in data.misroutes
    ]
    return {"agents": agents, "cases": cases, "heldout": data.record.holdout != "none"}


def _where(text: str, part: str) -> list[int] | None:
    """Where ``part`` starts and ends in ``text``, in UTF-16 code units; None when absent."""
    at = text.find(part) if part else -1
    if at < 0:
        return None
    start = len(text[:at].encode("utf-16-le")) // 2
    return [start, start + len(part.encode("utf-16-le")) // 2]


def history_chart(data: ReportData, width: int = 760, height: int = 220) -> dict[str, Any] | None:
    """Coordinates for the accuracy-over-runs SVG (drawn server-side: no script, no assets).

    Runs of the same settings are joined by one line each (``paths``); a run whose settings
    changed (``changed`` names them) starts a new line and is marked.
    """
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
                "changed": ", ".join(r.changed),
                "segment": r.segment,
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
        # one line per segment: a trend is never drawn across a change of settings
        "paths": [
            " ".join(f"{p['x']},{p['y']}" for p in points if p["segment"] == segment)
            for segment in dict.fromkeys(p["segment"] for p in points)
        ],
        "grid": [(y_of(v), f"{int(v * 100)}%") for v in (0, 0.25, 0.5, 0.75, 1.0)],
    }


def _short_date(stamp: str) -> str:
    return f"{stamp[5:10]} {stamp[11:16]}" if len(stamp) >= 16 else stamp
