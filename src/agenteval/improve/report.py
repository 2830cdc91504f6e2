"""What an improve session writes: report.md, report.html, changes.patch and improve.json."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from agenteval.improve.loop import Attempt, Improvement, changed_files
from agenteval.improve.patch import patch_text
from agenteval.text import md_code, md_text, redact


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _pct(value: float | None) -> str:
    return "undefined" if value is None else f"{value * 100:.1f}%"


def _interval(attempt: Attempt) -> str:
    v = attempt.verdict
    if v is None or v.interval is None:
        return "undefined"
    return f"{v.interval[0] * 100:+.1f} to {v.interval[1] * 100:+.1f} points"


def render_markdown(imp: Improvement) -> str:
    """The session as Markdown (PR comments): accepted changes first, then the rejected."""
    lines = [
        "# agenteval improve",
        "",
        f"Router {md_code(imp.router)}, proposer {md_code(imp.model)}; {imp.cases} cases: "
        f"{imp.training} the proposer may see, {imp.held_out} held out. Held-out accuracy "
        f"{_pct(imp.accuracy_before)} before, {_pct(imp.accuracy_after)} with the accepted "
        f"changes. Spent ${imp.cost_usd:.4f} on {_count(imp.calls, 'model call')}; routed "
        f"{_count(imp.routed, 'case')}.",
    ]
    if imp.stop:
        lines += ["", f"**Stopped early:** {md_text(imp.stop)}"]
    if not imp.targets:
        lines += ["", "Nothing to improve: no training case was misrouted."]
    accepted, rejected = imp.accepted, [a for a in imp.attempts if not a.accepted]
    lines += ["", f"## Accepted changes ({len(accepted)})"]
    if not accepted:
        lines += ["", "None."]
    for a in accepted:
        lines += _accepted_md(a)
    lines += ["", f"## Rejected proposals ({len(rejected)})", ""]
    if rejected:
        lines += ["| target | attempt | reason |", "| --- | ---: | --- |"]
        lines += [
            f"| {md_text(a.target.why)} | {a.attempt + 1} | {md_text(a.reason)} |" for a in rejected
        ]
    else:
        lines.append("None.")
    lines += [
        "",
        "Held-out cases are a stable 40 % of the cases by id; the proposer never sees them. "
        "Each change is tested on all of them with the regression gate's one-sided paired "
        "test; several changes tested on the same cases make a chance gain likelier than "
        "one test's level says.",
    ]
    return redact("\n".join(lines) + "\n")


def _accepted_md(a: Attempt) -> list[str]:
    v = a.verdict
    assert v is not None
    out = [
        "",
        f"### {md_text(' and '.join(a.target.agents))}",
        "",
        md_text(a.reason),
        "",
        f"Fixed: {', '.join(md_code(i) for i in v.fixed) or 'none'}. "
        f"Broken: {', '.join(md_code(i) for i in v.broken) or 'none'}. "
        f"95% interval of the change: {_interval(a)}. {_count(a.calls, 'model call')}, "
        f"{_count(a.routed, 'routed case')}.",
    ]
    for change in a.changes:
        fence = "~~~~" if "~~~" in change.diff else "~~~"
        out += ["", f"{fence}diff", change.diff.rstrip("\n"), fence]
    return out


def render_html(imp: Improvement) -> str:
    """The session as one HTML page (no network)."""
    from agenteval.reports.pages import render_page

    return redact(
        render_page(
            "improve.html.j2",
            imp=imp,
            accepted=imp.accepted,
            rejected=[a for a in imp.attempts if not a.accepted],
            pct=_pct,
            interval=_interval,
            count=_count,
        )
    )


def write_session(imp: Improvement, out: Path) -> dict[str, Path]:
    """Write the session's files into `out`; returns them by kind."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "markdown": out / "report.md",
        "html": out / "report.html",
        "patch": out / "changes.patch",
        "record": out / "improve.json",
    }
    files["markdown"].write_text(render_markdown(imp), encoding="utf-8")
    files["html"].write_text(render_html(imp), encoding="utf-8")
    files["patch"].write_text(redact(patch_text(changed_files(imp))), encoding="utf-8")
    files["record"].write_text(
        redact(json.dumps(_jsonable(dataclasses.asdict(imp)), indent=2, ensure_ascii=False)),
        encoding="utf-8",
    )
    return files


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
