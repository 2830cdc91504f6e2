"""junit.xml: one testcase per (case, trial), for the CI test-report readers."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from agenteval.cases import UNLISTED_LABEL
from agenteval.reports import ReportData
from agenteval.text import for_xml


def render_junit(data: ReportData) -> str:
    """Render a JUnit XML document: a misroute is a failure, a router error is an error."""
    r = data.record
    counts = {
        "tests": str(len(data.rows)),
        "failures": str(len(data.misroutes) + len(data.unlisted)),
        "errors": str(len(data.errors)),
    }
    time_total = f"{sum(row.trial.decision.latency_s for row in data.rows):.3f}"
    suites = _sub(None, "testsuites", name="agenteval", **counts, time=time_total)
    suite = _sub(
        suites,
        "testsuite",
        name=f"agenteval.{r.name}",
        **counts,
        skipped="0",
        time=time_total,
        timestamp=r.created_at[:19],
    )
    props = _sub(suite, "properties")
    for key, value in [
        ("router", r.router.backend),
        ("model", r.router.model),
        ("holdout", r.holdout),
        ("catalog", r.catalog.fingerprint),
        ("run_id", r.run_id),
    ]:
        _sub(props, "property", name=key, value=str(value))
    _trial_cases(suite, data)
    if data.outputs:
        _output_suite(suites, data)
        for key in ("tests", "failures", "errors"):
            suites.set(key, str(sum(int(s.attrib[key]) for s in suites.findall("testsuite"))))
    ET.indent(suites)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
    )


def _trial_cases(suite: ET.Element, data: ReportData) -> None:
    """One testcase per trial: a misroute is a failure, a router error is an error."""
    multi = data.record.trials > 1
    for row in data.rows:
        t = row.trial
        classname = row.case.agent or row.case.id.split("/")[0]
        name = row.case.id + (f" [trial {t.trial + 1}]" if multi else "")
        case = _sub(
            suite,
            "testcase",
            classname=f"agenteval.{classname}",
            name=name,
            time=f"{t.decision.latency_s:.3f}",
            file=data.display_path(row.case.source),
        )
        if t.label is None:
            err = _sub(case, "error", message=t.error or "error", type="RouterError")
            err.text = for_xml(t.error or "")
        elif not t.correct:
            expected = " or ".join(t.expected)
            kind = "Unlisted" if t.label == UNLISTED_LABEL else "Misroute"
            fail = _sub(case, "failure", message=f"expected {expected}, got {t.label}", type=kind)
            fail.text = for_xml(
                f"request: {row.case.prompt}\nexpected: {expected}\n"
                f"got: {t.label}\nrationale: {t.decision.rationale}"
            )


def _sub(parent: ET.Element | None, tag: str, **attrs: str) -> ET.Element:
    """A new element whose attributes hold only what XML 1.0 allows (names come from files)."""
    safe = {key: for_xml(value) for key, value in attrs.items()}
    return ET.Element(tag, safe) if parent is None else ET.SubElement(parent, tag, safe)


def _output_suite(suites: ET.Element, data: ReportData) -> None:
    """One testcase per graded output: a failed check is a failure, an ungradable one an error."""
    outs = [o for o in data.outputs if o.source != "not-run"]
    suite = _sub(
        suites,
        "testsuite",
        name=f"agenteval.{data.record.name}.outputs",
        tests=str(len(outs)),
        failures=str(sum(o.passed is False for o in outs)),
        errors=str(sum(o.passed is None for o in outs)),
        skipped="0",
        time="0",
    )
    multi = data.record.trials > 1
    for o in outs:
        name = f"{o.case_id} output" + (f" [trial {o.trial + 1}]" if multi else "")
        case = _sub(
            suite, "testcase", classname=f"agenteval.outputs.{o.agent}", name=name, time="0"
        )
        bad = [c for c in o.checks if c.passed is False]
        broken = [c for c in o.checks if c.passed is None]
        if o.error is not None or broken:
            why = o.error or "; ".join(f"{c.name}: {c.error}" for c in broken)
            err = _sub(case, "error", message=why[:300], type="GradingError")
            err.text = for_xml(why)
        elif bad:
            message = "; ".join(f"{c.name}: {c.reason}" for c in bad)
            fail = _sub(case, "failure", message=message[:300], type="OutputCheckFailed")
            fail.text = for_xml(f"{message}\n\noutput:\n{(o.output or '')[:2000]}")
