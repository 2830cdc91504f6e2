"""The comparison of two runs, as HTML and Markdown (`agenteval compare A B`)."""

from __future__ import annotations

from collections.abc import Mapping

from agenteval.record.store import RunRecord
from agenteval.reports import fmt_rate, shorten
from agenteval.reports.html import _env
from agenteval.scoring.compare import Comparison
from agenteval.text import md_code, md_text

MAX_LISTED = 15


def render_compare_html(
    comp: Comparison, a: RunRecord, b: RunRecord, prompts: Mapping[str, str]
) -> str:
    """A self-contained HTML page for the comparison."""
    return _env().get_template("compare.html.j2").render(comp=comp, a=a, b=b, prompts=prompts)


def render_compare_markdown(
    comp: Comparison, a: RunRecord, b: RunRecord, prompts: Mapping[str, str]
) -> str:
    """The comparison for a PR comment."""
    lines = [
        f"## agenteval: {md_code(b.run_id)} vs {md_code(a.run_id)}",
        "",
        md_text(comp.summary_sentence(a="A", b="B")),
        "",
        "| | A | B | change | 95% CI | McNemar p |",
        "|---|---:|---:|---:|---|---:|",
        f"| accuracy ({comp.shared} shared cases) | {fmt_rate(comp.accuracy_a.value)} | "
        f"{fmt_rate(comp.accuracy_b.value)} | {_pts(comp.delta)} | {_ci(comp.delta_ci)} | "
        f"{'n/a' if comp.p_value is None else f'{comp.p_value:.3g}'} |",
        "",
    ]
    if comp.added or comp.removed:
        lines += [f"{len(comp.added)} cases only in B, {len(comp.removed)} only in A.", ""]
    for title, items in (("Newly broken", comp.broken), ("Fixed", comp.fixed)):
        if not items:
            continue
        lines += [
            f"### {title} ({len(items)})",
            "",
            "| case | request | expected | A | B |",
            "|---|---|---|---|---|",
        ]
        for c in items[:MAX_LISTED]:
            request = md_text(shorten(prompts.get(c.case_id, ""), 100))
            expected = ", ".join(md_code(e, table=True) for e in c.expected)
            lines.append(
                f"| {md_code(c.case_id, table=True)} | {request} | {expected} | "
                f"{md_code(c.label_a, table=True)} | {md_code(c.label_b, table=True)} |"
            )
        if len(items) > MAX_LISTED:
            lines.append(f"| … | {len(items) - MAX_LISTED} more | | | |")
        lines.append("")
    moved = sorted((x for x in comp.agents if x.delta), key=lambda x: x.delta or 0)
    if moved:
        lines += [
            "### Per-agent recall changes",
            "",
            "| agent | cases | A | B | change |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {md_code(x.name, table=True)} | {x.support} | {fmt_rate(x.recall_a)} | "
            f"{fmt_rate(x.recall_b)} "
            f"| {_pts(x.delta)} |"
            for x in moved[:MAX_LISTED]
        ]
        lines.append("")
    return "\n".join(lines)


def _pts(delta: float | None) -> str:
    return "n/a" if delta is None else f"{delta * 100:+.1f} pts"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if not ci else f"[{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}]"
