"""The comparison of two runs, as HTML and Markdown (`agenteval compare A B`).

Both say first what the comparison is: a regression check (same settings), an agreement of two
routers on the same cases, or not comparable (and which settings differ).
"""

from __future__ import annotations

from collections.abc import Mapping

from agenteval.record.store import RunRecord
from agenteval.reports import fmt_ci, fmt_rate, shorten
from agenteval.reports.html import _env
from agenteval.scoring.compare import Comparison
from agenteval.stats import Rate
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
    """The comparison for a PR comment (text from runs and catalogs escaped for tables)."""
    lines = [f"## agenteval: {md_code(b.run_id)} vs {md_code(a.run_id)}", ""]
    lines += _verdict_lines(comp)
    lines += [
        md_text(comp.summary_sentence(a="A", b="B")),
        "",
        "| | A | B | change | 95% CI | p (paired score test) |",
        "|---|---:|---:|---:|---|---:|",
        f"| accuracy ({comp.shared} shared cases) | {_value(comp.accuracy_a)} | "
        f"{_value(comp.accuracy_b)} | {_pts(comp.delta)} | {_ci(comp.delta_ci)} | "
        f"{'n/a' if comp.p_value is None else f'{comp.p_value:.3g}'} |",
        "",
    ]
    if comp.added or comp.removed:
        lines += [f"{len(comp.added)} cases only in B, {len(comp.removed)} only in A.", ""]
    lines += _agreement_lines(comp, prompts)
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
            lines.append(
                f"| {md_code(_case(c.case_id, c.case_id_a), table=True)} | {request} | "
                f"{_names(c.expected)} | {md_code(c.label_a, table=True)} | "
                f"{md_code(c.label_b, table=True)} |"
            )
        if len(items) > MAX_LISTED:
            lines.append(f"| … | {len(items) - MAX_LISTED} more | | | |")
        lines.append("")
    moved = sorted((x for x in comp.agents if x.delta), key=lambda x: x.delta or 0)
    if moved:
        lines += [
            "### Per-agent recall changes",
            "",
            "| agent | cases | A | B | change | 95% CI |",
            "|---|---:|---:|---:|---:|---|",
        ]
        lines += [
            f"| {md_code(x.name, table=True)} | {x.support} | {fmt_rate(x.recall_a)} | "
            f"{fmt_rate(x.recall_b)} | {_pts(x.delta)} | {_ci(x.delta_ci)} |"
            for x in moved[:MAX_LISTED]
        ]
        lines.append("")
    return "\n".join(lines)


def _verdict_lines(comp: Comparison) -> list[str]:
    """What kind of comparison this is, and the settings that differ, as a table."""
    if not comp.differences:
        return []
    heading = {
        "not comparable": "**Not comparable**: the runs measured differently, so the change "
        "below is not a measure of change and no regression verdict is given.",
        "agreement": "**Routers differ: showing agreement, not a regression.**",
        "comparable": "**The catalog changed**: the change below includes it.",
    }[comp.verdict]
    lines = [heading, "", "| setting | A | B |", "|---|---|---|"]
    lines += [
        f"| {d.name} | {md_code(d.a, table=True)} | {md_code(d.b, table=True)} |"
        for d in comp.differences
    ]
    return [*lines, ""]


def _agreement_lines(comp: Comparison, prompts: Mapping[str, str]) -> list[str]:
    rate = comp.agreement
    if rate is None or rate.value is None:
        return []
    ci = "" if rate.low is None or rate.high is None else f" [{_ci_pct(rate.low, rate.high)}]"
    lines = [
        "### Agreement",
        "",
        f"A and B give the same label (each case's most frequent label over its trials) on "
        f"{rate.k} of {rate.n} shared cases: {fmt_rate(rate.value)}{ci} (95% Wilson interval).",
        "",
    ]
    if comp.disagreements:
        lines += [
            f"Where they disagree ({len(comp.disagreements)}):",
            "",
            "| case | request | label in A | label in B | expected |",
            "|---|---|---|---|---|",
        ]
        for d in comp.disagreements[:MAX_LISTED]:
            request = md_text(shorten(prompts.get(d.case_id, ""), 100))
            lines.append(
                f"| {md_code(_case(d.case_id, d.case_id_a), table=True)} | {request} | "
                f"{md_code(d.label_a, table=True)} | {md_code(d.label_b, table=True)} | "
                f"{_names(d.expected)} |"
            )
        if len(comp.disagreements) > MAX_LISTED:
            lines.append(f"| … | {len(comp.disagreements) - MAX_LISTED} more | | | |")
        lines.append("")
    return lines


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(md_code(n, table=True) for n in names)


def _case(case_id: str, case_id_a: str | None) -> str:
    return case_id if case_id_a is None else f"{case_id} (A: {case_id_a})"


def _value(rate: Rate) -> str:
    """A run's rate with its 95% interval, e.g. `56.4% [47.0, 65.3]`."""
    ci = None if rate.low is None or rate.high is None else (rate.low, rate.high)
    return f"{fmt_rate(rate.value)} {fmt_ci(ci)}".rstrip()


def _pts(delta: float | None) -> str:
    return "n/a" if delta is None else f"{delta * 100:+.1f} pts"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if not ci else f"[{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}]"


def _ci_pct(low: float, high: float) -> str:
    return f"{low * 100:.1f}, {high * 100:.1f}"
