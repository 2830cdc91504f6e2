"""Reports render from the saved record alone; Markdown fits a PR comment; JUnit is valid."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_estimate import third_party  # noqa: F401 (a fixture)

from agenteval.cli import main
from agenteval.pipeline import rerender
from agenteval.record.history import run_facts
from agenteval.record.store import load_record, read_results, save_record
from agenteval.scoring.compare import compare


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def runs(root: Path) -> list[Path]:
    return sorted(p for p in (root / "reports").iterdir() if p.is_dir())


def test_record_round_trips(demo_project):
    invoke("run", "--plain", "--trials", "2", "--limit", "20")
    (run,) = runs(demo_project)
    record = load_record(run)
    save_record(run, record)
    assert load_record(run) == record
    assert record.scorecard is not None and record.scorecard.trials_per_case == 2
    assert record.headline["pass_k"] is not None and record.headline["consistency"] is not None


def test_report_renders_from_saved_files_only(demo_project):
    invoke("run", "--plain", "--limit", "15")
    (run,) = runs(demo_project)
    before = (run / "report.html").read_text()
    for name in ("report.html", "report.md", "junit.xml"):
        (run / name).unlink()
    # the catalog and datasets are gone: reports need nothing but the run folder
    for folder in ("agents", "datasets"):
        shutil.rmtree(demo_project / folder)
    rerender(run)
    assert (run / "report.html").read_text() == before


def test_markdown_fits_a_pr_comment_for_213_agents(laywill, tmp_path):
    result = invoke("run", "--agents", str(laywill), "--router", "lexical", "--plain")
    assert result.exit_code == 0
    (run,) = runs(tmp_path)
    md = (run / "report.md").read_text()
    assert len(md.encode()) < 64_000
    for heading in ("accuracy", "Worst agents", "Top confusions", "Misroutes"):
        assert heading in md
    assert "[" in md.split("accuracy", 1)[1].splitlines()[0]  # the interval is on the line


def test_junit_is_one_testcase_per_trial(demo_project):
    invoke("run", "--plain", "--trials", "2", "--limit", "10")
    (run,) = runs(demo_project)
    root = ET.parse(run / "junit.xml").getroot()
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    rows = read_results(run)
    assert len(cases) == len(rows) == 20
    failures = [c for c in cases if c.find("failure") is not None]
    assert len(failures) == sum(not r.trial.correct for r in rows)
    for f in failures:
        assert f.find("failure").get("message").startswith("expected ")
    assert int(suite.get("failures")) == len(failures)
    names = [c.get("name") for c in cases]
    assert len(set(names)) == len(names)  # trials are told apart


def test_history_is_appended_and_printed(demo_project):
    for _ in range(2):
        invoke("run", "--plain", "--limit", "8")
    lines = (demo_project / "reports" / "history.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert {json.loads(x)["run_id"] for x in lines} == {r.name for r in runs(demo_project)}
    result = invoke("history")
    assert result.exit_code == 0
    assert all(r.name in result.output for r in runs(demo_project))
    html = (runs(demo_project)[-1] / "report.html").read_text()
    assert 'id="history-chart"' in html


def test_compare_command_writes_html_and_markdown(demo_project):
    invoke("run", "--plain", "--limit", "30")
    invoke("run", "--plain", "--limit", "30", "--router", "lexical", "--holdout", "none")
    a, b = runs(demo_project)
    # another holdout measures something else: refused unless forced, then marked
    refused = CliRunner().invoke(main, ["compare", str(a), str(b)])
    assert refused.exit_code == 2
    assert "not comparable (holdout: A kfold:5, B none)" in refused.output
    result = invoke("compare", str(a), str(b), "--force")
    assert result.exit_code == 0
    facts = {f"facts_{k}": run_facts(load_record(run)) for k, run in (("a", a), ("b", b))}
    comp = compare(read_results(a), read_results(b), [], [], **facts)
    assert comp.summary_sentence(a="A", b="B") in result.output
    assert "Not comparable: holdout differs (A kfold:5, B none)" in result.output
    assert (b / "compare.html").exists() and (b / "compare.md").exists()
    assert "McNemar" in (b / "compare.html").read_text()
    assert 'id="comparability"' in (b / "compare.html").read_text()
    assert "**Not comparable**" in (b / "compare.md").read_text()
    floor = "lexical router is an offline TF-IDF floor"
    assert floor in (b / "compare.html").read_text()  # both runs are lexical here


def test_baseline_regression_gate(demo_project):
    """A run that got much worse than its baseline fails with the reason in words."""
    invoke("run", "--plain", "--holdout", "none")  # sees its own examples: near perfect
    (good,) = runs(demo_project)
    # a bad edit of the catalog (every agent renamed to the next one's name): the dataset's
    # cases, paired by content, now go to the wrong names; the settings are the same
    files = sorted((demo_project / "agents").glob("*.md"))
    names = [re.search(r"^name: *(\S+)", f.read_text(), re.M).group(1) for f in files]
    for f, name in zip(files, names[1:] + names[:1], strict=True):
        f.write_text(re.sub(r"^name: *\S+", f"name: {name}", f.read_text(), count=1, flags=re.M))
    result = CliRunner().invoke(
        main, ["run", "--plain", "--holdout", "none", "--baseline", str(good)]
    )
    record = load_record(runs(demo_project)[-1])
    gate = next(g for g in record.gates if g["name"] == "regression")
    assert record.comparison is not None and record.comparison.shared > 0
    assert gate["value"] < 0
    if gate["p_value"] < 0.05:
        assert not gate["passed"] and result.exit_code == 1
        assert "significant drop" in gate["message"]
        assert result.output.strip().splitlines()[-1].startswith("gate failed: regression")
    else:  # pragma: no cover - the drop on the demo catalog is large
        pytest.fail(f"expected a significant drop, got p={gate['p_value']}")


def test_same_run_twice_passes_regression_gate(demo_project):
    invoke("run", "--plain", "--limit", "20")
    result = invoke("run", "--plain", "--limit", "20", "--baseline", "latest")
    assert result.exit_code == 0
    record = load_record(runs(demo_project)[-1])
    gate = next(g for g in record.gates if g["name"] == "regression")
    assert gate["passed"] and "no change" in gate["message"]


def test_missing_baseline_is_a_clear_error(demo_project):
    result = CliRunner().invoke(main, ["run", "--plain", "--baseline", "reports/nope"])
    assert result.exit_code == 2
    assert "baseline" in result.output and "error:" in result.output


# ------------------------------------------------------------------------------------------
# What the terminal and the reports must say (issue 11, items 9 and 10)
# ------------------------------------------------------------------------------------------

KEY = "sk-ant-test-reports"


def add_duplicate_agents(root: Path) -> None:
    """Two files claiming one name: an error that `agenteval lint` names by file."""
    for stem, text in (("dup-one", "Formats SQL"), ("dup-two", "Lints SQL")):
        (root / "agents" / f"{stem}.md").write_text(
            f"---\nname: sql-dup\ndescription: {text}\n---\n"
        )


def head(text: str, marker: str) -> str:
    """The part of a report before `marker` (its first section after the headline)."""
    assert marker in text
    return text.split(marker, 1)[0]


def test_catalog_problems_are_on_the_terminal_and_atop_both_reports(demo_project):
    add_duplicate_agents(demo_project)
    result = CliRunner().invoke(main, ["run", "--plain", "--limit", "10"])
    (run,) = runs(demo_project)
    assert "dup-one.md" in result.output and "dup-two.md" in result.output
    # two errors, as `lint` counts them: the lenient reading ignores dup-two.md, Claude Code
    # never lists dup-one.md
    assert "catalog: 2 errors" in result.output
    md = (run / "report.md").read_text()
    assert "dup-one.md" in head(md, "| metric |") and "`agenteval lint`" in md
    html = (run / "report.html").read_text()
    top = head(html, 'id="headline"')
    assert "dup-one.md" in top and "dup-two.md" in top
    assert 'class="badge ok">complete' not in html  # not a green "complete" over a broken file
    assert "2 catalog errors" in top


def test_a_run_whose_trials_all_errored_says_so(demo_project, stub):
    from stub_anthropic import Fault

    stub.faults = [Fault.every(1, 400, message="prompt is too long: 250000 tokens")]
    result = CliRunner().invoke(main, ["run", "--plain", "--router", "anthropic", "--limit", "4"])
    (run,) = runs(demo_project)
    needle = "400 invalid_request_error: prompt is too long: 250000 tokens"
    assert f"4× {needle}" in result.output
    md = (run / "report.md").read_text()
    html = (run / "report.html").read_text()
    for text in (md, html):
        assert "every scored trial went where it should" not in text
        assert "No trial was scored" in text
    assert f"4× {needle}" in head(md, "| metric |")
    assert f"4×</b> {needle}" in head(html, 'id="headline"')


def test_worst_agents_say_recall_with_k_of_n_and_interval(demo_project):
    result = invoke("run", "--plain")
    (run,) = runs(demo_project)
    record = load_record(run)
    worst = record.scorecard.worst_agents(5)[0]
    r = worst.recall
    shown = (
        f"{worst.name} {100 * r.value:.0f}% ({r.k}/{r.n}) [{100 * r.low:.1f}, {100 * r.high:.1f}]"
    )
    assert "worst agents by recall (k/n, 95% interval):" in result.output
    assert shown in " ".join(result.output.split())
    md = (run / "report.md").read_text()
    assert "| agent | recall | k/n | 95% interval | precision | support |" in md
    html = (run / "report.html").read_text()
    card = html.split('id="worst-agent"', 1)[1].split("</div></div>", 1)[0]
    assert f"{r.k}/{r.n}" in card and "95% CI" in card
    ties = [a for a in record.scorecard.worst_agents(99) if a.recall.value == r.value]
    assert (f"and {len(ties) - 1} more" in card) == (len(ties) > 1)


def test_a_lexical_run_says_it_is_a_floor_wherever_its_numbers_show(demo_project):
    result = invoke("run", "--plain", "--limit", "10")
    (run,) = runs(demo_project)
    floor = "lexical router is an offline TF-IDF floor"
    assert floor in " ".join(result.output.split())
    assert floor in head((run / "report.md").read_text(), "| metric |")
    assert floor in head((run / "report.html").read_text(), 'id="headline"')


def cost_lines(output: str) -> list[str]:
    return [x for x in output.splitlines() if x.startswith("cost")]


def test_an_offline_run_costs_none_on_the_terminal_in_the_record_and_every_report(demo_project):
    result = invoke("run", "--plain", "--limit", "10")
    (run,) = runs(demo_project)
    router = json.loads((run / "summary.json").read_text())["router"]
    assert (router["pricing"], router["offline"]) == ("none", True)
    assert cost_lines(result.output) == ["cost: none (offline)"]
    progress = [x for x in result.output.splitlines() if x.startswith("[agenteval] routing:")]
    assert progress and all(x.endswith(" · cost none (offline)") for x in progress)
    assert "· cost none (offline)" in head((run / "report.md").read_text(), "| metric |")
    assert "cost <b>none (offline)</b>" in (run / "report.html").read_text()


def test_an_offline_run_with_a_key_blames_output_grading_not_the_router_for_its_cost(
    demo_project, stub
):
    result = invoke("run", "--plain", "--router", "lexical")
    (run,) = runs(demo_project)
    record = load_record(run)
    assert record.outputs is not None and record.outputs.cost_usd
    amount = f"${record.outputs.cost_usd:.4f}"
    said = f"{amount} for output grading; routing: none (offline)"
    assert cost_lines(result.output) == [f"cost: {said}"]
    assert f"· cost {said}" in head((run / "report.md").read_text(), "| metric |")
    html = (run / "report.html").read_text()
    assert f"cost <b>{amount}</b> for output grading; routing: none (offline)" in html


def test_an_offline_run_whose_grading_cost_is_unknown_says_so_without_naming_the_router(
    demo_project, stub
):
    from stub_anthropic import Fault

    stub.faults = [Fault.every(1, 400, message="bad request")]
    result = invoke("run", "--plain", "--router", "lexical")
    (run,) = runs(demo_project)
    assert load_record(run).cost_usd is None
    said = "unknown (output grading has calls of unknown price); routing: none (offline)"
    assert cost_lines(result.output) == [f"cost: {said}"]
    assert f"· cost {said}" in head((run / "report.md").read_text(), "| metric |")


@pytest.mark.usefixtures("third_party")
def test_third_party_routers_are_costed_as_they_declare_themselves(demo_project):
    from agenteval.routing import UNDECLARED

    args = ("--plain", "--holdout", "none", "--limit", "3")
    declared = invoke("run", "--router", "local-third", *args)
    undeclared = invoke("run", "--router", "quiet-third", *args)
    assert cost_lines(declared.output) == ["cost: none (offline)"]
    said = "unknown (the quiet-third router does not declare how it is priced)"
    assert cost_lines(undeclared.output) == [f"cost: {said}"]
    by_router = {load_record(run).router.backend: run for run in runs(demo_project)}
    assert "· cost none (offline)" in (by_router["local-third"] / "report.md").read_text()
    assert f"· cost {said}" in (by_router["quiet-third"] / "report.md").read_text()
    budget = CliRunner().invoke(main, ["run", "--router", "quiet-third", "--max-cost", "1", *args])
    assert budget.exit_code == 2
    assert f"--max-cost needs a router that declares its prices: {UNDECLARED.reason}" in (
        " ".join(budget.output.split())
    )


def test_skipped_output_checks_are_said_on_the_terminal_and_in_markdown(demo_project):
    result = invoke("run", "--plain")  # output cases, no recorded outputs, no key
    (run,) = runs(demo_project)
    said = "carry output checks, not graded"
    assert said in " ".join(result.output.split())
    assert said in (run / "report.md").read_text()
    assert said in (run / "report.html").read_text()


# ------------------------------------------------------------------------------------------
# Large catalogs and "why" (issue 11, item 11)
# ------------------------------------------------------------------------------------------


def synthetic_data(trials, names, **record):
    from agenteval.record.store import RunRecord
    from agenteval.reports import ReportData
    from agenteval.scoring.scorecard import score

    card = score(trials, names)
    return ReportData(
        record=RunRecord(
            run_id="r",
            name="r",
            status="complete",
            created_at="2026-12-01",
            scorecard=card,
            **record,
        ),
        rows=(),
    )


def trial(case_id, expected, label):
    from agenteval.execution.trials import Trial
    from agenteval.routing import Decision

    return Trial(
        case_id=case_id, trial=0, expected=(expected,), label=label, decision=Decision(agent=label)
    )


def test_heatmap_of_a_large_catalog_picks_rows_by_impact_and_leaves_none_blank():
    from agenteval.reports.html import HEATMAP_MAX, _heatmap

    names = [f"a{i:02d}" for i in range(45)] + [f"z{i:02d}" for i in range(10)]
    trials = []
    for i, name in enumerate(names):
        away = names[(i + 1) % len(names)]  # every lost case goes somewhere else: 55 columns
        if name.startswith("a"):  # two cases, one lost
            trials += [trial(f"{name}/1", name, name), trial(f"{name}/2", name, away)]
        else:  # one case, lost: the same count, a worse rate; alphabetically last
            trials.append(trial(f"{name}/1", name, away))
    heat = _heatmap(synthetic_data(trials, names))
    assert heat["partial"] and len(heat["rows"]) == HEATMAP_MAX
    assert {f"z{i:02d}" for i in range(10)} <= set(heat["rows"])  # ties go by impact, not name
    assert heat["cols"][-1] == "other" and len(heat["cols"]) <= HEATMAP_MAX + 2
    for name, cells in zip(heat["rows"], heat["cells"], strict=True):
        shown = sum(count for count, diag, _ in cells if not diag)
        assert shown == 1, name  # the lost case is in a column or in "other", never blank


def test_paths_are_relative_and_outputs_keep_their_newlines(demo_project):
    invoke("run", "evals/quickstart.yaml", "--plain")
    (run,) = runs(demo_project)
    html = (run / "report.html").read_text()
    misroutes = html.split('id="misroutes"', 1)[1].split("</table>", 1)[0]
    assert str(demo_project) not in misroutes
    assert "agents/" in misroutes or "datasets/" in misroutes
    assert 'class="scroll"' not in html.split('id="misroutes"', 1)[0].rsplit("<h2", 1)[1]
    failing = html.split('id="output-failures"', 1)[1].split("</table>", 1)[0]
    assert "```python\n@pytest.mark.flaky(reruns=3)\ndef test_checkout_total():" in failing


def test_explain_data_is_one_json_block_escaped_for_a_script(demo_project):
    evil = "</script><script>window.pwned=1</script> & <!--"
    (demo_project / "agents" / "evil.md").write_text(
        f'---\nname: evil-agent\ndescription: \'Handles {evil} <example>user: "{evil}" '
        "assistant: ok</example>'\n---\nbody\n"
    )
    invoke("run", "--plain", "--holdout", "none")
    (run,) = runs(demo_project)
    html = (run / "report.html").read_text()
    assert html.count('<script type="application/json" id="explain-data">') == 1
    block = html.split('id="explain-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in block and "&" not in block.replace("\\u0026", "")
    data = json.loads(block)
    assert evil in data["agents"]["evil-agent"]  # descriptions, as written, for "why"
    # case id, trial, request, expected, got, where the held-out example is in the description
    assert all(len(c) == 6 for c in data["cases"])


def test_display_paths_drop_the_folder_that_holds_catalog_and_datasets():
    from agenteval.record.store import RunRecord
    from agenteval.reports import display_path

    def record(datasets):
        catalog = {"roots": ["/w/proj/agents"]}
        return RunRecord(
            run_id="r", name="r", status="complete", created_at="", catalog=catalog,
            cases={"datasets": datasets},
        )  # fmt: skip

    near = record(["/w/proj/datasets/d.yaml"])
    assert display_path(near, "/w/proj/agents/x.md:3") == "agents/x.md:3"
    assert display_path(near, "/w/proj/datasets/d.yaml:4") == "datasets/d.yaml:4"
    assert display_path(near, "/elsewhere/q.md") == "/elsewhere/q.md"  # never "../.."
    assert display_path(record([]), "/w/proj/agents/sub/x.md") == "sub/x.md"
    assert display_path(record(["/tmp/d.yaml"]), "/w/proj/agents/x.md") == "/w/proj/agents/x.md"


# ------------------------------------------------------------------------------------------
# junit.xml holds hostile text, escaped and well-formed
# ------------------------------------------------------------------------------------------

HOSTILE = (
    "q\"uote' & &amp; <tag> ]]> >\r\n CR\rLF\n tab\t NUL\x00 ESC\x1b DEL\x7f C1\x85\x9f"
    " bidi\u202e\u2066\u200f é 漢字 🎉 lone\ud800 nonchars\ufffe\uffff"
)


def _hostile_data(trials: int, outputs: str):
    from agenteval.cases import UNLISTED_LABEL, Case
    from agenteval.cases.checks import CheckResult
    from agenteval.execution.trials import ResultRow, Trial
    from agenteval.outputs.results import OutputResult
    from agenteval.record.store import RunRecord
    from agenteval.reports import ReportData
    from agenteval.routing import Decision

    h = HOSTILE
    record = RunRecord(
        run_id=f"id{h}",
        name=f"n{h}",
        status="complete",
        created_at=f"2026-12-01T{h}",
        config={"trials": trials},
        router={"backend": f"b{h}", "model": None},
        holdout=f"ho{h}",
        catalog={"fingerprint": f"fp{h}"},
    )
    # label, error, rationale: a pass, misroutes, an unlisted case, errors with hostile, blank
    # and empty messages
    picks = [
        ("a", None, h),
        (f"b{h}", None, h),
        (f"b{h}", None, ""),
        (UNLISTED_LABEL, None, h),
        (None, f"e{h}", h),
        (None, " \t ", ""),
        (None, "", ""),
    ]
    rows = []
    for i, (label, error, rationale) in enumerate(picks):
        case = Case(
            id=f"{'' if i % 2 else h}/c{i}{h}",
            prompt=f"p{h}" if i % 3 else "",
            expected=("a", f"x{h}"),
            origin="dataset",
            source=f"s{h}:{i}",
            agent=None if i % 2 else f"ag{h}",
        )
        decision = Decision(agent=label, rationale=rationale, latency_s=i * 0.37, error=error)
        for k in range(trials):
            expected = tuple(sorted(case.expected))
            t = Trial(case_id=case.id, trial=k, expected=expected, label=label, decision=decision)
            rows.append(ResultRow(case=case, trial=t))
    checks = [
        CheckResult(name=f"ok{h}", kind="contains", passed=True, reason=h),
        CheckResult(name=f"bad{h}", kind="contains", passed=False, reason=f"r{h}" * 40),
        CheckResult(name=f"broken{h}", kind="judge", passed=None, reason="", error=f"x{h}"),
    ]
    outs = []
    for i, (source, error, which) in enumerate(
        [
            ("recorded", None, [0]),  # passed
            ("recorded", None, [0, 1]),  # a failed check
            ("live", None, [1, 2]),  # an ungradable one
            ("live", f"grading{h}" * 30, [0]),  # an error
            ("live", "", [0]),  # an empty error
            ("recorded", None, []),  # no checks: not gradable, but neither failed nor errored
            ("not-run", None, [0]),
        ]
    ):
        outs.append(
            OutputResult(
                case_id=f"o{i}{h}",
                trial=i % trials,
                agent=None if i % 3 else f"ag{h}",
                routed="a",
                expected=("a",),
                oracle=False,
                source=source,
                output=None if i % 2 else f"out{h}" * 300,
                error=error,
                checks=tuple(checks[j] for j in which),
            )
        )
    chosen = {"none": [], "all": outs, "not-run": outs[-1:]}[outputs]
    return ReportData(record=record, rows=tuple(rows), outputs=tuple(chosen))


@pytest.mark.parametrize("trials", [1, 2])
@pytest.mark.parametrize("outputs", ["none", "all", "not-run"])
def test_junit_holds_hostile_text_escaped_and_well_formed(trials, outputs):
    from agenteval.reports.junit import render_junit

    data = _hostile_data(trials, outputs)
    junit = render_junit(data)
    root = ET.fromstring(junit)
    assert [s.get("tests") for s in root] == (
        [str(len(data.rows))] + {"none": [], "all": ["6"], "not-run": ["0"]}[outputs]
    )
    assert root.get("tests") == str(len(data.rows) + {"none": 0, "all": 6, "not-run": 0}[outputs])
    assert 'type="RouterError" />' in junit  # the empty error is self-closed
    assert "&#10;" in junit and "&#09;" in junit and "&quot;" in junit and "&lt;tag&gt;" in junit
    assert "&#13;" not in junit and "\\r" in junit  # for_xml writes CR out


def test_junit_files_are_catalog_relative_as_the_run_prints_them(demo_project):
    invoke("run", "--plain", "--limit", "10")
    (run,) = runs(demo_project)
    cases = ET.parse(run / "junit.xml").getroot().find("testsuite").findall("testcase")
    files = {c.get("file").rsplit(":", 1)[0] for c in cases}
    assert files and all((demo_project / f).is_file() and f.startswith("agents/") for f in files)


# ------------------------------------------------------------------------------------------
# A report that leads to the case; intervals shown (issue 20, C and D.4)
# ------------------------------------------------------------------------------------------


def rows_of(trials, origin="dataset"):
    from agenteval.cases import Case
    from agenteval.execution.trials import ResultRow

    return tuple(
        ResultRow(
            case=Case(
                id=t.case_id,
                prompt=f"request {t.case_id}",
                expected=t.expected,
                origin=origin,
                source="cases.yaml",
            ),
            trial=t,
        )
        for t in trials
    )


def pair_trials(sizes):
    """Misroutes of pair i (e{i} -> g{i}) sizes[i] times, plus one right trial each."""
    trials, names = [], []
    for i, n in enumerate(sizes):
        e, g = f"e{i:02d}", f"g{i:02d}"
        names += [e, g]
        trials += [trial(f"{e}/{k}", e, g) for k in range(n)]
        trials.append(trial(f"{e}/ok", e, e))
    return trials, names


def test_misroutes_are_grouped_by_confused_pair_largest_first():
    from dataclasses import replace

    trials, names = pair_trials([1, 3, 2, 3])
    data = replace(synthetic_data(trials, names), rows=rows_of(trials))
    groups = data.misroute_groups
    assert [(g.expected, g.got, len(g.rows)) for g in groups] == [
        ("e01", "g01", 3),
        ("e03", "g03", 3),
        ("e02", "g02", 2),
        ("e00", "g00", 1),
    ]
    assert all(r.trial.label == g.got for g in groups for r in g.rows)
    assert sum(len(g.rows) for g in groups) == len(data.misroutes)


def test_html_misroutes_are_folded_pairs_paged_with_a_show_all():
    from dataclasses import replace

    from agenteval.reports.html import MISROUTE_PAIRS_SHOWN, render_html

    sizes = [1] * (MISROUTE_PAIRS_SHOWN + 5)
    trials, names = pair_trials(sizes)
    html = render_html(replace(synthetic_data(trials, names), rows=rows_of(trials)))
    section = html.split('id="misroutes"', 1)[1].split('id="misroute-more"', 1)[0]
    groups = re.findall(r"<details class=\"mgroup\"[^>]*>", section)
    assert len(groups) == len(sizes)
    assert not any(" open" in g for g in groups)  # folded
    assert sum(" hidden" in g for g in groups) == len(sizes) - MISROUTE_PAIRS_SHOWN
    assert f"Show all {len(sizes)} pairs" in html


def test_top_pairs_say_how_many_pairs_there_are_and_columns_carry_whole_names():
    from dataclasses import replace

    from agenteval.reports.html import render_html
    from agenteval.reports.markdown import render_markdown

    trials, names = pair_trials([1] * 25)
    data = replace(synthetic_data(trials, names), rows=rows_of(trials))
    shown = len(data.record.scorecard.top_confusions)
    html = render_html(data)
    assert f"Top confused pairs ({shown} of 25)" in html
    assert "Top confusions (10 of 25)" in render_markdown(data)
    heads = re.findall(r'<th class="colh"( title="[^"]*")?>([^<]*)</th>', html)
    assert heads and all(title == f' title="{name}"' for title, name in heads)


def test_explain_data_marks_the_held_out_example_in_its_description(demo_project):
    invoke("run", "--plain")
    (run,) = runs(demo_project)
    html = (run / "report.html").read_text()
    data = json.loads(html.split('id="explain-data">', 1)[1].split("</script>", 1)[0])
    assert data["heldout"] is True
    marked = [c for c in data["cases"] if c[5] is not None]
    assert marked
    for c in marked:
        start, end = c[5]
        text = data["agents"][c[3]].encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")
        full = {r.case.id: r.case.prompt for r in read_results(run)}[c[0]]
        assert text == full


def ci_of(low, high):
    from agenteval.reports import fmt_ci

    return fmt_ci((low, high))


def test_every_interval_the_record_holds_is_shown(demo_project):
    from dataclasses import replace

    from agenteval.reports import ReportData
    from agenteval.reports.html import render_html
    from agenteval.reports.markdown import render_markdown
    from agenteval.stats import Rate

    invoke("run", "evals/quickstart.yaml", "--plain", "--trials", "2")
    (run,) = runs(demo_project)
    record = load_record(run)
    h, card = record.headline, record.scorecard
    oc = record.outputs.scorecard
    rated = [a for a in oc.agents if a.rate.value is not None]
    worst = min(rated, key=lambda a: (a.rate.value, a.agent))  # listed in report.md
    agents = tuple(
        replace(a, judge_mean=3.5, judge_ci=(3.0, 4.0)) if a is worst else a for a in oc.agents
    )
    oc = replace(oc, routed_right=Rate.of(5, 7), misrouted=Rate.of(1, 4), agents=agents)
    record = record.model_copy(
        update={"outputs": record.outputs.model_copy(update={"scorecard": oc})}
    )
    data = ReportData(record=record, rows=tuple(read_results(run)))
    html, md = render_html(data), render_markdown(data)
    cards = html.split('id="headline"', 1)[1].split("</section>", 1)[0]
    assert f"cases right in every trial · 95% CI {ci_of(*h.pass_k_ci)}" in cards
    assert f"flaky case(s) · 95% CI {ci_of(*card.consistency_ci)}" in cards
    assert f"of trials, never scored · 95% CI {ci_of(*h.error_rate_ci)}" in cards
    assert f"| consistency | 100.0% | {ci_of(*card.consistency_ci)} |" in md
    assert f"| flaky cases | {h.flaky} | |" in md
    for rate in (oc.routed_right, oc.misrouted):
        assert f"{rate.k}/{rate.n} · 95% CI {ci_of(rate.low, rate.high)}" in html
        assert f"({rate.k}/{rate.n}) {ci_of(rate.low, rate.high)}" in md
    outputs = html.split('id="outputs"', 1)[1]
    assert f"cases whose trials agree · 95% CI {ci_of(*oc.consistency_ci)}" in outputs
    agents = outputs.split('id="output-agents"', 1)[1].split("</table>", 1)[0]
    assert "<td>[3.00, 4.00]</td>" in agents
    assert "| 3.50 [3.00, 4.00] |" in md  # worst agents' outputs: judge mean and interval


def test_compare_shows_a_and_b_with_their_intervals(demo_project):
    from agenteval.reports import fmt_rate

    invoke("run", "--plain", "--limit", "30")
    invoke("run", "--plain", "--limit", "30")
    a, b = runs(demo_project)
    invoke("compare", str(a), str(b))
    facts = {f"facts_{k}": run_facts(load_record(run)) for k, run in (("a", a), ("b", b))}
    comp = compare(read_results(a), read_results(b), [], [], **facts)
    html, md = (b / "compare.html").read_text(), (b / "compare.md").read_text()
    for rate in (comp.accuracy_a, comp.accuracy_b):
        interval = ci_of(rate.low, rate.high)
        assert f'<div class="ci">{interval}</div>' in html
        assert f"{fmt_rate(rate.value)} {interval} |" in md


def test_terminal_names_the_top_three_pairs_and_an_absolute_report_path(demo_project):
    result = invoke("run", "--plain")
    (run,) = runs(demo_project)
    top = load_record(run).scorecard.top_confusions[:3]
    pairs = ", ".join(f"{c.expected} → {c.got} ({c.count})" for c in top)
    assert f"most confused (expected → got): {pairs}" in result.output
    assert f"report: {(run / 'report.html').resolve()}\n" in result.output
