"""report.md: short enough for a PR comment or `$GITHUB_STEP_SUMMARY` (well under 64 KB)."""

from __future__ import annotations

from agenteval.reports import ReportData, count_problems, fmt_ci, fmt_kn, fmt_rate, shorten
from agenteval.text import md_code, md_text, plural

MAX_MISROUTES = 10
MAX_BYTES = 60_000
MAX_PROBLEMS = 10
MAX_CONFUSIONS = 10


def render_markdown(data: ReportData) -> str:
    """Render the Markdown summary of a run."""
    lines = [
        *_headline(data),
        *_verdicts(data),
        *_routing(data),
        *_outputs(data),
        *_cases(data),
    ]
    text = "\n".join(lines)
    if len(text.encode()) > MAX_BYTES:
        text = text.encode()[:MAX_BYTES].decode(errors="ignore") + "\n\n… (truncated)\n"
    return text


def _headline(data: ReportData) -> list[str]:
    """The title, the run's facts and the headline numbers (by origin too)."""
    r = data.record
    h = r.headline
    card = r.scorecard
    status = "" if r.status == "complete" else f" — **{r.status.upper()}**"
    lines = [
        f"## agenteval: {md_text(r.name)}{status}",
        "",
        f"Router {md_code(r.router.backend)} · model {md_code(r.router.model)} · "
        f"holdout {md_code(r.holdout)} · {plural(h.cases, 'case')} · {plural(h.trials, 'trial')} · "
        f"{plural(h.errors, 'error')} · catalog {md_code((r.catalog.fingerprint or '')[:12])}"
        + (f" · cost {md_text(str(data.cost))}" if data.cost_worth_saying else ""),
        "",
        *_attention(data),
        "| metric | value | 95% interval |",
        "|---|---:|---|",
        f"| accuracy | {fmt_rate(h.accuracy)} | {fmt_ci(h.accuracy_ci)} |",
        f"| macro precision | {fmt_rate(h.macro_precision)} | {fmt_ci(h.macro_precision_ci)} |",
        f"| macro recall | {fmt_rate(h.macro_recall)} | {fmt_ci(h.macro_recall_ci)} |",
        f"| macro F1 | {fmt_rate(h.macro_f1)} | {fmt_ci(h.macro_f1_ci)} |",
        f"| error rate | {fmt_rate(h.error_rate)} | {fmt_ci(h.error_rate_ci)} |",
    ]
    if h.trials_per_case > 1:
        lines += [
            f"| pass^{h.trials_per_case} | {fmt_rate(h.pass_k)} | {fmt_ci(h.pass_k_ci)} |",
            f"| consistency | {fmt_rate(h.consistency)} | "
            f"{fmt_ci(card.consistency_ci if card else None)} |",
            f"| flaky cases | {h.flaky} | |",
        ]
    lines.append("")
    lines += _by_origin(data)
    return lines


def _verdicts(data: ReportData) -> list[str]:
    """The comparison with the baseline, a stop, and the gates."""
    r = data.record
    lines: list[str] = []
    if r.comparison and r.baseline:
        sentence = r.comparison.summary_sentence(a=f"baseline {r.baseline.run_id}", b="this run")
        lines += [md_text(sentence[:1].upper() + sentence[1:]), ""]
    if r.stopped_reason:
        lines += [f"> Stopped early: {md_text(r.stopped_reason)}", ""]
    if r.gates:
        lines += ["### Gates", ""]
        lines += [
            f"- {'✅' if g.passed else '❌'} **{md_text(g.name)}**: {md_text(g.message)}"
            for g in r.gates
        ]
        lines.append("")
    return lines


def _routing(data: ReportData) -> list[str]:
    """The worst agents and the top confusions."""
    card = data.record.scorecard
    lines: list[str] = []
    if card:
        worst = card.worst_agents(8)
        if worst:
            lines += [
                "### Worst agents (by recall)",
                "",
                "| agent | recall | k/n | 95% interval | precision | support |",
                "|---|---:|---:|---|---:|---:|",
            ]
            lines += [
                f"| {md_code(a.name, table=True)} | {fmt_rate(a.recall.value)} | "
                f"{a.recall.k}/{a.recall.n} | "
                f"{fmt_ci(_ci(a.recall))} | {fmt_rate(a.precision.value)} | {a.support} |"
                for a in worst
            ]
            lines.append("")
        if card.top_confusions:
            shown = min(len(card.top_confusions), MAX_CONFUSIONS)
            lines += [
                f"### Top confusions ({shown} of {data.confused_pairs})",
                "",
                "| expected | got | count |",
                "|---|---|---:|",
            ]
            lines += [
                f"| {md_code(c.expected, table=True)} | {md_code(c.got, table=True)} | {c.count} |"
                for c in card.top_confusions[:MAX_CONFUSIONS]
            ]
            lines.append("")
    return lines


def _outputs(data: ReportData) -> list[str]:
    """How the graded outputs did."""
    r = data.record
    lines: list[str] = []
    oc = data.output_card
    if oc is not None:
        label = " (sample data)" if r.outputs and r.outputs.sample_data else ""
        lines += [
            f"### Outputs{label}",
            "",
            f"{fmt_rate(oc.rate.value)} of {oc.graded} graded outputs pass every check "
            f"{fmt_ci(_ci(oc.rate))}; {fmt_rate(oc.check_rate.value)} of checks pass"
            + (
                f"; judge mean {oc.judge_mean:.2f}/5{_mean_ci(oc.judge_ci)}"
                if oc.judge_mean is not None
                else ""
            )
            + (f"; {oc.errors} not graded" if oc.errors else "")
            + ".",
            "",
        ]
        if oc.misrouted.n:
            lines += [
                f"Misrouted requests: the wrong agent's output passed {fmt_kn(oc.misrouted, 1)}, "
                f"vs {fmt_kn(oc.routed_right, 1)} when routed right.",
                "",
            ]
        worst_outputs = sorted(
            (a for a in oc.agents if a.rate.value is not None),
            key=lambda a: (a.rate.value, a.agent),
        )[:5]
        if worst_outputs:
            lines += [
                "| agent | outputs | pass rate | 95% interval | judge mean |",
                "|---|---:|---:|---|---:|",
            ]
            lines += [
                f"| {md_code(a.agent, table=True)} | {a.outputs} | {fmt_rate(a.rate.value)} | "
                f"{fmt_ci(_ci(a.rate))} | {_judge(a.judge_mean, a.judge_ci)} |"
                for a in worst_outputs
            ]
            lines.append("")
        failed = data.failed_outputs[:MAX_MISROUTES]
        if failed:
            lines += ["| case | check | why |", "|---|---|---|"]
            for o, c in failed:
                why = c.reason if c.passed is False else f"not graded: {c.error}"
                lines.append(
                    f"| {md_code(o.case_id, table=True)} | "
                    f"{md_code(shorten(c.name, 40), table=True)} | {md_text(shorten(why, 120))} |"
                )
            lines.append("")
    return lines


def _cases(data: ReportData) -> list[str]:
    """The misroutes, the cases that can never route, and the errors."""
    card = data.record.scorecard
    lines: list[str] = []
    misroutes = data.misroutes
    if misroutes:
        lines += [
            f"### Misroutes ({len(misroutes)}, first {min(len(misroutes), MAX_MISROUTES)})",
            "",
            "| case | request | expected | got |",
            "|---|---|---|---|",
        ]
        for row in misroutes[:MAX_MISROUTES]:
            expected = ", ".join(md_code(e, table=True) for e in row.trial.expected)
            lines.append(
                f"| {md_code(row.case.id, table=True)} | {md_text(shorten(row.case.prompt, 120))} "
                f"| {expected} | {md_code(row.trial.label, table=True)} |"
            )
        lines.append("")
    if data.unlisted:
        lines += [
            f"### Cases that can never route ({len(data.unlisted)}): Claude Code never lists "
            "their agent",
            "",
        ]
        lines += [
            f"- {md_code(row.case.id)} expects {', '.join(md_code(e) for e in row.trial.expected)}"
            for row in data.unlisted[:MAX_MISROUTES]
        ]
        if len(data.unlisted) > MAX_MISROUTES:
            lines.append(f"- … and {len(data.unlisted) - MAX_MISROUTES} more")
        lines.append("")
    if not misroutes and card is not None and not card.scored:
        lines += [
            "### Misroutes",
            "",
            f"No trial was scored: all {card.trials} errored, so there is nothing to say about "
            "routing yet (the errors are listed above).",
            "",
        ]
    if data.errors:
        lines += [f"### Errors ({len(data.errors)})", ""]
        lines += [
            f"- {md_code(row.case.id)}: {md_text(shorten(row.trial.error, 200))}"
            for row in data.errors[:5]
        ]
        lines.append("")
    return lines


ORIGIN_NAMES = {"example": "examples", "dataset": "datasets", "generated": "generated"}


def _by_origin(data: ReportData) -> list[str]:
    """Each origin's cases scored alone, when the run has more than one."""
    found = data.record.by_origin
    if not found:
        return []
    lines = [
        "| cases from | cases | accuracy | 95% interval | macro recall | macro F1 |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for origin, h in found.items():
        lines.append(
            f"| {md_text(ORIGIN_NAMES.get(origin, origin))} | {h.cases} | "
            f"{fmt_rate(h.accuracy)} | {fmt_ci(h.accuracy_ci)} | {fmt_rate(h.macro_recall)} | "
            f"{fmt_rate(h.macro_f1)} |"
        )
    return [*lines, ""]


def _attention(data: ReportData) -> list[str]:
    """What a reader must know before the numbers: catalog problems, errors, caveats."""
    h = data.record.headline
    lines: list[str] = []
    problems = data.problems
    if data.reading_line:  # one quote: the reading, then what Claude Code does not show
        lines.append(f"> {md_text(data.reading_line)}")
        lines += [f"> - **{md_text(line)}**" for line in data.reading_problems]
        lines.append("")
    if problems:
        lines.append(
            f"> **Catalog: {count_problems(problems)}** (`agenteval lint` lists them with fixes):"
        )
        for d in problems[:MAX_PROBLEMS]:
            where = data.display_path(d.path) + (f":{d.line}" if d.line else "")
            message = md_text(shorten(d.message, 200))
            lines.append(f"> - {md_code(where)} {d.severity}: {message}")
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"> - … and {len(problems) - MAX_PROBLEMS} more")
        lines.append("")
    if data.top_errors:
        lines.append(f"> **{h.errors} of {h.trials} trials errored** (never scored). Top errors:")
        lines += [f"> - {e.count}× {md_text(shorten(e.message, 300))}" for e in data.top_errors]
        lines.append("")
    for note in (data.floor_note, *data.run_notes):
        if note:
            lines += [f"> {md_text(note)}", ""]
    return lines


def _ci(rate: object) -> list[float] | None:
    low, high = getattr(rate, "low", None), getattr(rate, "high", None)
    return None if low is None or high is None else [low, high]


def _mean_ci(ci: tuple[float, float] | None) -> str:
    return "" if not ci else f" [{ci[0]:.2f}, {ci[1]:.2f}]"


def _judge(mean: float | None, ci: tuple[float, float] | None) -> str:
    """A 1-5 judge mean with its interval; n/a when no output was graded by a judge."""
    return "n/a" if mean is None else f"{mean:.2f}{_mean_ci(ci)}"
