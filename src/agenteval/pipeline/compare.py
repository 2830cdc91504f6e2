"""`agenteval compare`: run B against run A, written as compare.html and compare.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agenteval.errors import ConfigError
from agenteval.record.history import run_facts
from agenteval.record.store import load_record, read_results
from agenteval.reports.compare import render_compare_html, render_compare_markdown
from agenteval.scoring.compare import Comparison, compare
from agenteval.text import plural


@dataclass(frozen=True, kw_only=True)
class CompareOutcome:
    """What `agenteval compare` printed and wrote."""

    comparison: Comparison
    text: str
    html: Path
    markdown: Path


def compare_runs(
    run_a: Path, run_b: Path, *, out: Path, alpha: float = 0.05, force: bool = False
) -> CompareOutcome:
    """Compare run B against run A and write compare.html and compare.md into ``out``.

    Runs of other routers on the same measurement compare as an agreement; runs of another
    holdout or number of trials are refused unless ``force`` (then every output is marked).

    Raises:
        ConfigError: when the runs are not comparable or share no case, and ``force`` is not
            set.
    """
    a, b = load_record(run_a), load_record(run_b)
    rows_a, rows_b = read_results(run_a), read_results(run_b)
    comp = compare(
        rows_a,
        rows_b,
        a.catalog.names,
        b.catalog.names,
        facts_a=run_facts(a),
        facts_b=run_facts(b),
    )
    if comp.verdict == "not comparable" and not force:
        which = "; ".join(f"{d.name}: A {d.a}, B {d.b}" for d in comp.differences)
        raise ConfigError(
            f"{a.run_id} and {b.run_id} are not comparable ({which})",
            hint="run both with the same holdout and trials, or pass --force to compare them "
            "anyway (every output says they are not comparable)",
        )
    if not comp.shared and not force:
        raise ConfigError(
            f"{a.run_id} and {b.run_id} share no case: they ran unrelated catalogs or datasets",
            hint="compare two runs of the same cases (or pass --force to write the comparison "
            "anyway)",
        )
    prompts = {r.case.id: r.case.prompt for r in (*rows_a, *rows_b)}
    out.mkdir(parents=True, exist_ok=True)
    html, md = out / "compare.html", out / "compare.md"
    html.write_text(render_compare_html(comp, a, b, prompts), encoding="utf-8")
    markdown = render_compare_markdown(comp, a, b, prompts)
    md.write_text(markdown, encoding="utf-8")
    text = (
        f"A = {a.run_id}\nB = {b.run_id}\n"
        + comp.summary_sentence(a="A", b="B", alpha=alpha)
        + f"\n{len(comp.fixed)} fixed, {len(comp.broken)} newly broken, "
        f"{plural(len(comp.added), 'case')} only in B, {len(comp.removed)} only in A"
    )
    if comp.verdict == "agreement" and comp.disagreements:
        text += f"\n{len(comp.disagreements)} cases where A and B disagree (listed in compare.md)"
    return CompareOutcome(comparison=comp, text=text, html=html, markdown=md)
