"""junit.xml: one testcase per (case, trial), for the CI test-report readers.

The document is written by hand, as strings joined once, for speed: ElementTree's pure-Python
indent and serializer took most of the time of a run of thousands of trials. It matches
``ET.indent(root, space="  ")`` + ``ET.tostring(root, encoding="unicode")`` byte for byte: the
same escaping, attributes in the order given, ``<tag a="b" />`` for an element with neither
text nor children, and a new line indented two spaces a level before each child of an element
with children and before its end tag (a leaf's text is left as it is).
"""

from __future__ import annotations

from functools import lru_cache

from agenteval.cases import UNLISTED_LABEL
from agenteval.reports import ReportData
from agenteval.text import for_xml

# what the indentation puts before an element at each depth, and before its parent's end tag
_NL = ("\n", "\n  ", "\n    ", "\n      ")


def render_junit(data: ReportData) -> str:
    """Render a JUnit XML document: a misroute is a failure, a router error is an error."""
    r = data.record
    multi = r.trials > 1
    totals = {
        "tests": len(data.rows),
        "failures": len(data.misroutes) + len(data.unlisted),
        "errors": len(data.errors),
    }
    time_total = f"{sum(row.trial.decision.latency_s for row in data.rows):.3f}"
    suite = _tag(
        "testsuite",
        name=f"agenteval.{r.name}",
        **_counts(totals),
        skipped="0",
        time=time_total,
        timestamp=r.created_at[:19],
    )
    # out[1], the root's start tag, is written last: its totals count the outputs suite too
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', "", _NL[1], suite, ">"]
    out += [_NL[2], "<properties>"]
    for key, value in [
        ("router", r.router.backend),
        ("model", r.router.model),
        ("holdout", r.holdout),
        ("catalog", r.catalog.fingerprint),
        ("run_id", r.run_id),
    ]:
        out += [_NL[3], _leaf("property", "", name=key, value=str(value))]
    out += [_NL[2], "</properties>"]
    heads: dict[int, tuple[str, str]] = {}  # per case: its start tag up to the name's end, file
    for row in data.rows:
        t = row.trial
        head = heads.get(id(row.case))  # the rows hold their cases, so an id is not reused
        if head is None:
            classname = row.case.agent or row.case.id.split("/")[0]
            head = heads[id(row.case)] = (
                f'<testcase classname="{_attrib(f"agenteval.{classname}")}"'
                f' name="{_attrib(row.case.id)}',
                _attrib(data.display_path(row.case.source)),
            )
        trial = f" [trial {t.trial + 1}]" if multi else ""  # digits and the time: nothing to escape
        out += [  # not through _tag: the loop would take a fifth longer
            _NL[2],
            f'{head[0]}{trial}" time="{t.decision.latency_s:.3f}" file="{head[1]}"',
        ]
        if t.label is None:
            error = _leaf("error", t.error or "", message=t.error or "error", type="RouterError")
            out += _holding(error)
        elif not t.correct:
            expected = " or ".join(t.expected)
            kind = "Unlisted" if t.label == UNLISTED_LABEL else "Misroute"
            text = (
                f"request: {row.case.prompt}\nexpected: {expected}\n"
                f"got: {t.label}\nrationale: {t.decision.rationale}"
            )
            message = f"expected {expected}, got {t.label}"
            failure = _leaf("failure", text, message=message, type=kind)
            out += _holding(failure)
        else:
            out.append(" />")
    out += [_NL[1], "</testsuite>"]
    if data.outputs:
        suite_totals = _output_suite(out, data)
        totals = {key: totals[key] + suite_totals[key] for key in totals}
    out[1] = _tag("testsuites", name="agenteval", **_counts(totals), time=time_total) + ">"
    out += [_NL[0], "</testsuites>\n"]
    return "".join(out)


def _output_suite(out: list[str], data: ReportData) -> dict[str, int]:
    """Write one testcase per graded output: a failed check is a failure, an ungradable one an
    error. Returns the suite's tests, failures and errors."""
    outs = [o for o in data.outputs if o.source != "not-run"]
    totals = {
        "tests": len(outs),
        "failures": sum(o.passed is False for o in outs),
        "errors": sum(o.passed is None for o in outs),
    }
    name = f"agenteval.{data.record.name}.outputs"
    out += [_NL[1], _tag("testsuite", name=name, **_counts(totals), skipped="0", time="0")]
    if not outs:
        out.append(" />")
        return totals
    out.append(">")
    multi = data.record.trials > 1
    for o in outs:
        name = f"{o.case_id} output" + (f" [trial {o.trial + 1}]" if multi else "")
        out += [
            _NL[2],
            _tag("testcase", classname=f"agenteval.outputs.{o.agent}", name=name, time="0"),
        ]
        bad = [c for c in o.checks if c.passed is False]
        broken = [c for c in o.checks if c.passed is None]
        if o.error is not None or broken:
            why = o.error or "; ".join(f"{c.name}: {c.error}" for c in broken)
            error = _leaf("error", why, message=why[:300], type="GradingError")
            out += _holding(error)
        elif bad:
            message = "; ".join(f"{c.name}: {c.reason}" for c in bad)
            text = f"{message}\n\noutput:\n{(o.output or '')[:2000]}"
            failure = _leaf("failure", text, message=message[:300], type="OutputCheckFailed")
            out += _holding(failure)
        else:
            out.append(" />")
    out += [_NL[1], "</testsuite>"]
    return totals


def _counts(totals: dict[str, int]) -> dict[str, str]:
    return {key: str(value) for key, value in totals.items()}


def _holding(child: str) -> list[str]:
    """The rest of a testcase after its start tag, when it holds ``child``."""
    return [">", _NL[3], child, _NL[2], "</testcase>"]


def _tag(tag: str, **attrs: str) -> str:
    """A start tag without its closing ``>`` or `` />``, the attributes in the order given."""
    return "<" + tag + "".join([f' {key}="{_attrib(value)}"' for key, value in attrs.items()])


def _leaf(tag: str, text: str, **attrs: str) -> str:
    """An element without children, written ``<tag ... />`` when its text is empty."""
    text = _cdata(text)
    return f"{_tag(tag, **attrs)}>{text}</{tag}>" if text else _tag(tag, **attrs) + " />"


@lru_cache(maxsize=4096)  # a run's agents, files and timings repeat from trial to trial
def _attrib(value: str) -> str:
    """An attribute value made XML 1.0-safe, then escaped as ElementTree's ``_escape_attrib``
    (its text escaping, then quotes and the characters attribute normalization would eat)."""
    value = _cdata(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#09;")
    return value


def _cdata(text: str) -> str:
    """Element text made XML 1.0-safe, then escaped as ElementTree's ``_escape_cdata``."""
    text = for_xml(text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text
