"""`agenteval lint`: differences between the readings, --explain, --json, --fix/--diff, overlap."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from agenteval.catalog import RULES, load_catalog
from agenteval.catalog.diagnostics import explain
from agenteval.cli import main
from agenteval.pipeline.lint import fix_file, lint_catalog, propose_fixes

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"
VERSION = "2.1.332"


def invoke(*args: str):
    return CliRunner().invoke(main, ["lint", "--claude-code-version", VERSION, *args])


def copy(slug: str, tmp_path: Path) -> Path:
    dest = tmp_path / slug
    shutil.copytree(FORMATS / slug, dest, symlinks=True)
    return dest


def codes_by_file(report) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for d in report.diagnostics:
        found.setdefault(d.path.name, set()).add(d.code)
    return found


def test_every_code_has_a_table_entry_and_explains_itself():
    for code, rule in RULES.items():
        text = explain(code)
        assert text.startswith(f"{code} ({rule.severity})") and rule.fix in text
    result = invoke("--explain", "cc-yaml-skipped")
    assert result.exit_code == 0 and "retries" in result.output
    result = invoke("--explain", "no-such-code")
    assert result.exit_code == 2 and "unknown diagnostic code" in result.output


def test_files_claude_code_skips_or_cuts_are_errors_with_line_and_fix():
    cat = load_catalog([FORMATS / "05-unindented-continuation"], version=VERSION)
    report = lint_catalog(cat)
    skipped = [d for d in report.diagnostics if d.code == "cc-yaml-skipped"]
    assert sorted(d.path.name for d in skipped) == ["cron-expert.md", "flaky-test-hunter.md"]
    assert all(d.severity == "error" and d.line == 3 and d.hint for d in skipped)
    cut = lint_catalog(load_catalog([FORMATS / "30-retry-quoting"], version=VERSION))
    (d,) = [d for d in cut.diagnostics if d.code == "cc-description-cut"]
    assert d.path.name == "cut-after-retry.md" and "first 49 characters of 129" in d.message


def test_yaml_versions_and_names_are_reported():
    by_file = codes_by_file(lint_catalog(load_catalog([FORMATS / "22-yaml12-scalars"])))
    assert (
        "cc-yaml12-scalar" in by_file["yes-man.md"] and "cc-yaml12-scalar" in by_file["switch.md"]
    )
    assert "cc-description-not-text" in by_file["perms.md"]
    by_file = codes_by_file(lint_catalog(load_catalog([FORMATS / "08c-invalid-names"])))
    assert (
        "cc-name-dash" in by_file["dash-first.md"]
        and "cc-name-colon" in by_file["team-reviewer.md"]
    )


def test_a_clean_catalog_has_no_reading_differences(laywill):
    cat = load_catalog([laywill], version=VERSION)
    report = lint_catalog(cat, overlap=None)
    assert not [d for d in report.diagnostics if d.code.startswith("cc-")]


def test_exit_code_and_summary_name_what_claude_code_lists():
    result = invoke("--agents", str(FORMATS / "05-unindented-continuation"))
    assert result.exit_code == 1
    assert "Claude Code 2.1.332 lists 0 of 2 files" in result.output
    assert invoke("--agents", str(FORMATS / "04-block-scalars")).exit_code == 0


def test_json_lists_agents_in_claude_code_order_byte_for_byte():
    result = invoke("--json", "--agents", str(FORMATS / "06-crlf-bom-extras"))
    data = json.loads(result.output)
    assert data["claude_code_version"] == VERSION
    listed = [a for a in data["agents"] if a["listed"]]
    assert [a["name"] for a in listed] == ["api-docs-writer", "terraform-planner"]
    assert listed[0]["description"].endswith("</example>\n")  # the block scalar's newline
    assert listed[0]["tools"] == "Read, Write, Grep"
    (unlisted,) = [a for a in data["agents"] if not a["listed"]]
    assert unlisted["file"].endswith("crlf-unquoted.md") and unlisted["reason"] == "cc-yaml-skipped"
    first = data["diagnostics"][0]
    assert set(first) == {"code", "severity", "file", "line", "message", "fix"}


def test_fix_rewrites_only_the_yaml_form_and_both_readings_then_agree(tmp_path):
    folder = copy("05-unindented-continuation", tmp_path)
    before = load_catalog([folder], version=VERSION)
    diff = invoke("--diff", "--agents", str(folder))
    assert diff.exit_code == 0 and "+description: |-" in diff.output
    assert (folder / "cron-expert.md").read_bytes() == (
        FORMATS / "05-unindented-continuation/cron-expert.md"
    ).read_bytes()  # --diff writes nothing
    result = invoke("--fix", "--agents", str(folder))
    assert "fixed 2 of 2 files" in result.output
    assert result.exit_code == 0, result.output  # nothing left that is an error
    after = load_catalog([folder], version=VERSION)
    assert after.claude_code is not None
    assert after.claude_code.names == ("cron-expert", "flaky-test-hunter")
    for old in before.agents:
        new = after.get(old.name)
        assert new is not None
        assert (new.description, new.tools, new.model, new.body) == (
            old.description,
            old.tools,
            old.model,
            old.body,
        )
        shown = after.claude_code.get(old.name)
        assert shown is not None and shown.description == old.description
    assert invoke("--agents", str(folder)).exit_code == 0


def test_fix_lists_what_it_left_and_exits_1_while_errors_remain(tmp_path):
    folder = copy("05-unindented-continuation", tmp_path)
    text = (folder / "cron-expert.md").read_text(encoding="utf-8")
    (folder / "cron-expert-copy.md").write_text(text, encoding="utf-8")  # a second `cron-expert`
    result = invoke("--fix", "--agents", str(folder))
    assert "fixed 2 of 2 files" in result.output  # the copy was left: lint cannot pick one
    assert "cron-expert-copy.md" in result.output and "error" in result.output  # it is listed
    assert result.exit_code == 1, result.output  # and a CI step still fails on it


def test_fix_never_touches_a_file_it_cannot_prove_it_improves(tmp_path):
    folder = copy("25-fence-mid-line", tmp_path)
    cat = load_catalog([folder], version=VERSION)
    fixes = propose_fixes(lint_catalog(cat))
    (dashes,) = [f for f in fixes if f.path.name == "dashes.md"]
    assert dashes.after is None and "description" in dashes.reason
    before = (folder / "dashes.md").read_bytes()
    invoke("--fix", "--agents", str(folder))
    assert (folder / "dashes.md").read_bytes() == before


def test_fix_keeps_crlf_and_drops_a_leading_blank_line(tmp_path):
    folder = copy("06-crlf-bom-extras", tmp_path)
    cat = load_catalog([folder], version=VERSION)
    meant = cat.get("k8s-manifest-linter")
    assert meant is not None
    fix = fix_file(meant.path, meant, version=VERSION)
    assert (
        fix.after is not None and "\r\n" in fix.after and "\n" not in fix.after.replace("\r\n", "")
    )
    folder = copy("20-leading-blank-line", tmp_path)
    cat = load_catalog([folder], version=VERSION)
    meant = cat.get("late-fence")
    assert meant is not None
    fix = fix_file(meant.path, meant, version=VERSION)
    assert fix.after is not None and fix.after.startswith("---\n")


def test_overlap_reports_near_duplicates_with_shared_terms():
    report = lint_catalog(load_catalog([FORMATS / "18-near-duplicates"]), overlap=0.5)
    (pair,) = report.overlaps
    assert {pair.first, pair.second} == {"frontend-reviewer", "react-code-reviewer"}
    assert pair.similarity >= 0.5 and "review" in pair.shared_terms
    assert [d.code for d in report.diagnostics].count("near-duplicate") == 1
    assert not lint_catalog(load_catalog([FORMATS / "18-near-duplicates"]), overlap=None).overlaps


def test_overlap_similarity_is_scikit_learns_cosine(laywill):
    """The pairs and similarities are those of scikit-learn's TF-IDF with the router's settings."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    from agenteval.routing.lexical import _prefixes, agent_document, near_duplicates

    cat = load_catalog([laywill])
    documents = {a.name: agent_document(a.name, a.description) for a in cat.agents}
    vectorizer = TfidfVectorizer(
        tokenizer=_prefixes, token_pattern=None, lowercase=False, sublinear_tf=True, max_df=0.5
    )
    similarity = linear_kernel(vectorizer.fit_transform(list(documents.values())))
    names, low = list(documents), 0.3
    want = {
        (names[i], names[j]): round(float(similarity[i, j]), 4)
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if similarity[i, j] >= low
    }
    pairs = near_duplicates(documents, min_similarity=low)
    got = {(o.first, o.second): o.similarity for o in pairs}
    assert want and got == want


def test_one_cause_is_one_warning_in_lint_and_in_the_run(demo_project):
    from click.testing import CliRunner

    from agenteval.cli import main

    unquoted = [
        p.name for p in (demo_project / "agents").glob("*.md") if "cc-retried" in _codes_of(p)
    ]
    assert unquoted
    lint = CliRunner().invoke(main, ["lint"])
    for name in unquoted:
        lines = [ln for ln in lint.output.splitlines() if ln.startswith(f"agents/{name}:")]
        assert [ln for ln in lines if "warning[" in ln] == [
            next(ln for ln in lines if "warning[cc-retried]" in ln)
        ]
    run = CliRunner().invoke(main, ["run", "--plain", "--limit", "3"])
    assert f"catalog: {len(unquoted)} warnings" in run.output


def _codes_of(path):
    from agenteval.catalog import load_catalog

    catalog = load_catalog([path])
    return {d.code for d in (*catalog.diagnostics, *catalog.differences())}


def test_overlap_at_the_default_names_pairs_in_whole_words(laywill):
    import re

    cat = load_catalog([laywill])
    report = lint_catalog(cat)
    assert report.overlaps  # the default finds pairs on a catalog the router often confuses
    words = {
        a.name: set(re.findall(r"[a-z0-9]+", f"{a.name} {a.description}".lower()))
        for a in cat.agents
    }
    messages = [d.message for d in report.diagnostics if d.code == "near-duplicate"]
    assert len(messages) == len(report.overlaps)
    for o in report.overlaps:
        (message,) = [m for m in messages if m.startswith(f"{o.first!r} and {o.second!r} ")]
        assert str(laywill) not in message  # the other file is named as lint names files
        shown = message.split("shared terms: ", 1)[1].split(";", 1)[0].split(", ")
        assert [w[:6] for w in shown] == list(o.shared_terms)
        assert all(w in words[o.first] | words[o.second] for w in shown), shown
