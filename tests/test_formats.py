"""The loader survives the real-world agent-file quirks listed in FORMATS.md.

One fixture folder per item under tests/fixtures/formats/ (NN-slug, see each test's docstring).
Each folder is a small catalog written in our own words. The byte-exact ones (CRLF, BOM,
trailing spaces) come from tests/fixtures/formats/make_binary_fixtures.py and are committed.

How this file is laid out:
  * fixture sanity: the fixtures really are what they claim (strict YAML fails where it should,
    the bytes are intact);
  * invariants that hold for every fixture folder (normalisation, no answer leaks into a prompt,
    case ids and sources);
  * one test per FORMATS.md item, with its expectations written out;
  * the seed file and load_catalog's error contract.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest
import yaml

from agenteval.cases import Case
from agenteval.cases.build import build_cases
from agenteval.cases.examples import Example, extract_examples
from agenteval.catalog import Agent, Catalog, load_catalog
from agenteval.errors import AgentEvalError, CatalogError

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"
SEED = Path("/work/shared/seeds/backend-code-developer.md")
ALL_DIRS = sorted(p.name for p in FORMATS.iterdir() if p.is_dir() and p.name[:2].isdigit())
SPEAKER_MARKER = re.compile(r"(?i)\b(context|user|assistant|agent)\s*:")


# --------------------------------------------------------------------------- helpers


def load(slug: str) -> Catalog:
    return load_catalog([FORMATS / slug])


def names(cat: Catalog) -> list[str]:
    return [a.name for a in cat.agents]


def agent(cat: Catalog, name: str) -> Agent:
    found = cat.get(name)
    assert found is not None, f"agent {name!r} not loaded; loaded: {names(cat)}"
    return found


def all_diags(cat: Catalog) -> list:
    """File- and agent-level problems (Catalog.diagnostics) plus example-level ones
    (example-no-user, example-empty, example-unclosed), which build_cases reports in
    CaseSet.diagnostics. Either place is accepted for any code."""
    found = list(cat.diagnostics)
    found += [d for d in build_cases(cat).diagnostics if d not in found]
    return found


def diags(cat: Catalog, filename: str | None = None) -> list:
    """All diagnostics, optionally only those about one file (by file name)."""
    return [d for d in all_diags(cat) if filename is None or Path(d.path).name == filename]


def codes(cat: Catalog, filename: str | None = None) -> set[str]:
    return {d.code for d in diags(cat, filename)}


def errors(cat: Catalog) -> list:
    return [d for d in all_diags(cat) if d.severity == "error"]


def cases(cat: Catalog) -> dict[str, Case]:
    built = build_cases(cat).cases
    by_id = {c.id: c for c in built}
    assert len(by_id) == len(built), f"duplicate case ids: {[c.id for c in built]}"
    return by_id


def prompts(cat: Catalog) -> dict[str, str]:
    return {cid: c.prompt for cid, c in cases(cat).items()}


def examples(cat: Catalog, name: str) -> tuple[Example, ...]:
    return extract_examples(agent(cat, name))


def example_lines_in_file(path: Path) -> list[int]:
    """1-based line numbers of the lines of `path` on which an <example> block opens."""
    text = path.read_text(encoding="utf-8-sig")
    return [n for n, line in enumerate(text.splitlines(), 1) if "<example>" in line]


def split_frontmatter(path: Path) -> str | None:
    text = path.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    if not text.startswith("---\n"):
        return None
    return re.split(r"\n---[ \t]*\n", text[4:], maxsplit=1)[0]


def strict_yaml_ok(path: Path) -> bool:
    """Strict YAML 1.1 as the recovered reading parses it (libyaml where PyYAML has it)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        yaml.load(split_frontmatter(path), Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return False
    return True


# --------------------------------------------------------------------------- fixture sanity

# Which fixtures are strict YAML, by design. The loader must report "yaml-recovered" exactly for
# the ones that are not (see test_yaml_recovered_iff_strict_yaml_fails).
STRICT_YAML = {
    "01-one-line-colons/log-summarizer.md": False,
    "02-escaped-newlines/graphql-schema-reviewer.md": True,
    "03-plain-backslash-n/image-slimmer.md": False,
    "03-plain-backslash-n/env-doctor.md": True,
    "04-block-scalars/sql-tuner.md": True,
    "04-block-scalars/release-notes-writer.md": True,
    "05-unindented-continuation/flaky-test-hunter.md": False,
    "05-unindented-continuation/cron-expert.md": False,
    "06-crlf-bom-extras/crlf-unquoted.md": False,
    "06-crlf-bom-extras/bom-yaml-list.md": True,
    "06-crlf-bom-extras/bom-crlf-quoted.md": True,
    "32-duplicate-keys/incident-triager.md": False,
    "32-duplicate-keys/changelog-writer.md": True,  # PyYAML keeps the last of a repeated key
    "32-duplicate-keys/release-captain.md": True,
}
FRONTMATTER_FILES = sorted(
    str(p.relative_to(FORMATS))
    for p in FORMATS.glob("*/*.md")
    if p.is_file() and split_frontmatter(p) is not None
)


@pytest.mark.parametrize("rel, strict", sorted(STRICT_YAML.items()))
def test_fixture_strict_yaml_status_is_as_designed(rel: str, strict: bool) -> None:
    assert strict_yaml_ok(FORMATS / rel) is strict


def test_binary_fixtures_are_byte_exact() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_binary_fixtures", FORMATS / "make_binary_fixtures.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.FILES, "make_binary_fixtures.FILES is empty"
    for rel, data in module.FILES.items():
        assert (FORMATS / rel).read_bytes() == data, f"{rel} differs: rerun make_binary_fixtures.py"
    crlf = (FORMATS / "06-crlf-bom-extras/crlf-unquoted.md").read_bytes()
    assert b"\r\n" in crlf and not crlf.startswith(b"\xef\xbb\xbf")
    assert (
        (FORMATS / "06-crlf-bom-extras/bom-yaml-list.md")
        .read_bytes()
        .startswith(b"\xef\xbb\xbf---\n")
    )
    assert (
        (FORMATS / "06-crlf-bom-extras/bom-crlf-quoted.md")
        .read_bytes()
        .startswith(b"\xef\xbb\xbf---\r\n")
    )


def test_backslash_fixtures_hold_the_intended_escapes() -> None:
    double_quoted = (FORMATS / "02-escaped-newlines/graphql-schema-reviewer.md").read_bytes()
    assert b"\\\\n" in double_quoted  # backslash backslash n: survives YAML unescaping as \n
    assert b'\\"' in double_quoted  # YAML-escaped quotes
    plain = (FORMATS / "03-plain-backslash-n/image-slimmer.md").read_bytes()
    assert b"\\n" in plain and b"\\\\n" not in plain  # a single literal backslash-n


# --------------------------------------------------------------------------- invariants


@pytest.mark.parametrize("slug", ALL_DIRS)
def test_every_fixture_dir_loads_and_normalises(slug: str) -> None:
    cat = load(slug)
    assert cat.agents, f"{slug}: no agents"
    assert names(cat) == sorted(names(cat), key=str.lower)
    for a in cat.agents:
        opening = 2 if a.name == "late-fence" else 1  # 20-leading-blank-line
        assert a.line == opening, f"{a.name}: the opening '---' is on line {opening}"
        assert a.path.is_file()
        for field in ("name", "description", "body"):
            value = getattr(a, field)
            assert "\r" not in value, f"{a.name}.{field} keeps a CR"
            assert "\ufeff" not in value, f"{a.name}.{field} keeps a BOM"
        assert "\\n" not in a.description, f"{a.name}: literal backslash-n left"
        for line in a.description.split("\n"):
            assert line == line.rstrip(), f"{a.name}: trailing spaces in {line!r}"
        assert a.name == a.name.strip()
        assert isinstance(a.tools, tuple) and isinstance(a.disallowed_tools, tuple)
        assert "name" not in a.extra and "description" not in a.extra
    for d in all_diags(cat):
        assert d.severity in {"error", "warning", "info"}
        assert str(d.path) in str(d)
        if d.line is not None:
            assert f":{d.line}" in str(d)


@pytest.mark.parametrize("slug", ALL_DIRS)
def test_every_example_with_a_user_turn_is_exactly_one_clean_case(slug: str) -> None:
    cat = load(slug)
    by_id = cases(cat)
    expected_ids = set()
    for a in cat.agents:
        exs = extract_examples(a)
        assert [e.index for e in exs] == list(range(1, len(exs) + 1))
        for ex in exs:
            if ex.context:
                assert not SPEAKER_MARKER.search(ex.context), f"turn leaked into context: {ex}"
            if ex.user is None:
                continue
            cid = f"{a.name}/ex{ex.index}"
            expected_ids.add(cid)
            case = by_id.get(cid)
            assert case is not None, f"no case {cid}; have {sorted(by_id)}"
            assert case.prompt == ex.user
            assert case.prompt and case.prompt == case.prompt.strip()
            assert case.expected == (a.name,)
            assert case.origin == "example"
            assert case.source.endswith(f":{ex.line}") and a.path.name in case.source
            assert case.context == ex.context
            # the prompt is the user message only: never the answer or the commentary
            assert "commentary" not in case.prompt.lower()
            assert "<example" not in case.prompt and "</example" not in case.prompt
            assert not SPEAKER_MARKER.search(case.prompt), case.prompt
            for turn in (ex.assistant or "").split("\n"):
                turn = turn.strip().strip("\"'")
                if turn:
                    assert turn not in case.prompt, f"assistant text in prompt of {cid}"
            if ex.commentary and ex.commentary.strip():
                assert ex.commentary.strip() not in case.prompt
    assert set(by_id) == expected_ids, "cases must come from examples with a user turn, only"


@pytest.mark.parametrize("rel", FRONTMATTER_FILES)
def test_yaml_recovered_iff_strict_yaml_fails(rel: str) -> None:
    path = FORMATS / rel
    cat = load(path.parent.name)
    recovered = "yaml-recovered" in codes(cat, path.name)
    assert recovered is (not strict_yaml_ok(path))
    for d in diags(cat, path.name):
        if d.code == "yaml-recovered":
            assert d.severity == "warning"


# --------------------------------------------------------------------------- one test per item


def test_01_one_line_plain_description_with_many_colons() -> None:
    """01-one-line-colons: a one-line plain description full of ': ' (fails strict YAML)."""
    cat = load("01-one-line-colons")
    assert names(cat) == ["log-summarizer"]
    a = agent(cat, "log-summarizer")
    assert a.description.startswith("Use this agent when the user wants a long log file")
    assert "including .NET and C# service logs. Examples: <example>Context:" in a.description
    assert a.description.endswith("stack traces count as logs too.</commentary></example>")
    assert a.tools == ("Read", "Grep", "Bash")
    assert a.model == "haiku"
    assert a.extra == {"color": "purple"}  # no 'Context' / 'user' / 'Examples' keys leaked
    assert "You read long, noisy logs" in a.body
    assert "yaml-recovered" in codes(cat)
    assert not codes(cat) & {"continuation-lines", "crlf-unquoted"}
    assert not errors(cat)

    exs = examples(cat, "log-summarizer")
    assert len(exs) == 2
    assert [e.line for e in exs] == [3, 3]  # one-line description: the description's line
    assert exs[0].context == "A nightly job failed and printed 4,000 lines of output."
    assert exs[1].commentary == "Note: stack traces count as logs too."
    assert prompts(cat) == {
        "log-summarizer/ex1": "The nightly build log is huge, what actually went wrong?",
        "log-summarizer/ex2": (
            "Here is the trace from prod, just tell me which of our classes threw"
        ),
    }


def test_02_double_quoted_description_with_escaped_backslash_n() -> None:
    """02-escaped-newlines: "...\\\\n..." stays backslash-n after YAML; we turn it into newlines."""
    cat = load("02-escaped-newlines")
    a = agent(cat, "graphql-schema-reviewer")
    assert "data exposure.\n\nExamples:\n<example>\nContext: The team added" in a.description
    assert "\\" not in a.description  # neither \n nor \" survives
    assert a.tools == ("Read", "Grep") and a.model == "sonnet"
    assert "yaml-recovered" not in codes(cat)  # strict YAML: nothing to recover
    assert not errors(cat)

    exs = examples(cat, "graphql-schema-reviewer")
    assert len(exs) == 2
    assert exs[0].context == "The team added a mutation for invoices."
    assert exs[0].commentary.strip() == 'Questions about what a schema "exposes" go to this agent.'
    assert exs[1].commentary is None
    assert prompts(cat) == {
        "graphql-schema-reviewer/ex1": (
            "Can you check whether the new createInvoice mutation leaks internal IDs?"
        ),
        "graphql-schema-reviewer/ex2": (
            "Will making Order.customer non-null break older mobile clients?"
        ),
    }


def test_03_plain_description_with_literal_backslash_n() -> None:
    """03-plain-backslash-n: unquoted descriptions holding literal \\n (one with ': ', one not)."""
    cat = load("03-plain-backslash-n")
    assert names(cat) == ["env-doctor", "image-slimmer"]

    slim = agent(cat, "image-slimmer")
    assert slim.description.startswith(
        "Use this agent when a container image is too large or takes too long to build."
        "\n\nExamples:\n<example>\nContext: The user's Node image is over 2 GB.\n"
    )
    assert slim.tools == ("Read", "Bash") and slim.model is None and slim.extra == {}
    assert "yaml-recovered" in codes(cat, "image-slimmer.md")  # has ': ' -> not strict YAML

    doctor = agent(cat, "env-doctor")
    assert doctor.description == (
        "Use this agent to diagnose a broken local development environment.\n\n"
        "It checks PATH, interpreter versions, virtualenvs and missing system libraries, "
        "then suggests the smallest fix."
    )
    assert doctor.tools == () and doctor.model is None
    assert "yaml-recovered" not in codes(cat, "env-doctor.md")  # no ': ' -> strict YAML is fine
    assert "no-examples" in codes(cat, "env-doctor.md")
    assert not errors(cat)

    assert len(examples(cat, "image-slimmer")) == 2
    assert examples(cat, "image-slimmer")[0].commentary.strip() == (
        "Image size problems belong to image-slimmer."
    )
    assert prompts(cat) == {
        "image-slimmer/ex1": "My node image is 2GB, how do I shrink it?",
        "image-slimmer/ex2": "Why does every CI run reinstall all our pip packages from scratch?",
    }


def test_04_block_scalar_descriptions() -> None:
    """04-block-scalars: `description: |` with `- <example>` items, and `description: >`."""
    cat = load("04-block-scalars")
    assert names(cat) == ["release-notes-writer", "sql-tuner"]
    assert not codes(cat) & {"yaml-recovered", "continuation-lines"}
    assert not errors(cat)

    tuner = agent(cat, "sql-tuner")
    assert tuner.description.startswith(
        "Use this agent when a SQL query is slow, a query plan looks wrong, or an index is "
        "being ignored.\n\nExamples:\n- <example>\n"
    )
    assert tuner.tools == ("Read", "Bash") and tuner.model == "opus"
    notes = agent(cat, "release-notes-writer")
    assert "commit history into release notes" in notes.description  # '>' folds lines
    assert notes.model == "haiku" and notes.tools == ()

    for name in ("sql-tuner", "release-notes-writer"):
        a = agent(cat, name)
        assert [e.line for e in extract_examples(a)] == example_lines_in_file(a.path)
    assert examples(cat, "sql-tuner")[0].commentary.strip() == "Slow query, so sql-tuner."
    assert examples(cat, "release-notes-writer")[1].commentary.strip() == (
        "Audience-facing summaries of changes belong to this agent."
    )
    assert prompts(cat) == {
        "release-notes-writer/ex1": "Write the release notes for everything merged since v1.8.0",
        "release-notes-writer/ex2": (
            "Can you turn this changelog into three bullet points for the newsletter?"
        ),
        "sql-tuner/ex1": "The monthly revenue query takes 40 seconds, can you speed it up?",
        "sql-tuner/ex2": "Postgres still does a seq scan on orders even with the new index",
    }


def test_05_unindented_continuation_lines() -> None:
    """05-unindented-continuation: Context:/user:/assistant: at column 0 continue the text."""
    cat = load("05-unindented-continuation")
    assert names(cat) == ["cron-expert", "flaky-test-hunter"]
    a = agent(cat, "flaky-test-hunter")
    assert a.description.startswith(
        "Use this agent when a test passes locally but fails in CI, or fails only some of the time."
    )
    assert a.description.count("<example>") == 2
    assert "Intermittent failures are this agent's specialty." in a.description
    assert a.description.rstrip().endswith("</example>")
    assert "tools:" not in a.description and "model:" not in a.description
    # the real keys after the continuation are still read; the look-alike keys are not keys
    assert a.tools == ("Read", "Grep", "Bash")
    assert a.model == "sonnet"
    assert a.extra == {"color": "red"}
    assert {"yaml-recovered", "continuation-lines"} <= codes(cat, "flaky-test-hunter.md")
    flagged = [d for d in diags(cat, "flaky-test-hunter.md") if d.code == "continuation-lines"]
    assert [d.severity for d in flagged] == ["warning"]
    assert "flaky-test-hunter.md" in str(flagged[0])
    assert not errors(cat)

    exs = examples(cat, "flaky-test-hunter")
    assert [e.line for e in exs] == example_lines_in_file(a.path) == [4, 12]
    assert exs[0].context == "A checkout test fails about one run in five."

    # a column-0 'Examples:' line and capitalised 'User:' / 'Assistant:' continue it too
    cron = agent(cat, "cron-expert")
    assert cron.description.startswith(
        "Use this agent to write, explain or debug cron schedules and systemd timers."
    )
    assert "Examples:" in cron.description and cron.description.count("<example>") == 1
    assert cron.model == "haiku" and cron.extra == {} and cron.tools == ()
    assert {"yaml-recovered", "continuation-lines"} <= codes(cat, "cron-expert.md")
    assert [e.line for e in examples(cat, "cron-expert")] == [5]

    assert prompts(cat) == {
        "cron-expert/ex1": "My backup cron 0 2 * * * ran at 3am last Sunday, why?",
        "flaky-test-hunter/ex1": (
            "test_checkout_total fails randomly in CI, can you figure out why?"
        ),
        "flaky-test-hunter/ex2": (
            "Everything passes with -n 1 but pytest -n 8 gives random failures"
        ),
    }


def test_06_crlf_bom_comments_trailing_spaces_and_extra_keys() -> None:
    """06-crlf-bom-extras: CRLF + unquoted ': ', BOM, '#' comments, trailing spaces, extra keys."""
    cat = load("06-crlf-bom-extras")
    assert names(cat) == ["api-docs-writer", "k8s-manifest-linter", "terraform-planner"]
    assert not errors(cat)

    # CRLF with an unquoted ': ' value: recovered, and flagged (Claude Code reportedly skips it)
    k8s = agent(cat, "k8s-manifest-linter")
    assert {"crlf-unquoted", "yaml-recovered"} <= codes(cat, "crlf-unquoted.md")
    assert [d.severity for d in diags(cat, "crlf-unquoted.md") if d.code == "crlf-unquoted"] == [
        "warning"
    ]
    assert k8s.tools == ("Read", "Grep", "Glob")
    assert k8s.model == "haiku"  # trailing spaces stripped
    assert k8s.extra == {"color": "orange"}  # the '# owner: ...' comment is not a key
    assert k8s.description.startswith("Use this agent to lint Kubernetes manifests")
    assert k8s.description.endswith("</example>")
    assert k8s.body.strip() == (
        "You lint Kubernetes manifests: schema, resource limits, probes and labels."
    )

    # BOM + LF, strict YAML with comments, YAML-list tools and extra keys
    docs = agent(cat, "api-docs-writer")
    assert not codes(cat, "bom-yaml-list.md") & {"yaml-recovered", "crlf-unquoted"}
    assert docs.description.rstrip("\n") == (
        "Use this agent to write or update API reference documentation.\n"
        "<example>\n"
        "Context: A new endpoint was merged.\n"
        'user: "Document the new POST /v2/refunds endpoint"\n'
        'assistant: "I\'ll use the api-docs-writer agent to write the reference page."\n'
        "</example>"
    )
    assert docs.tools == ("Read", "Write", "Grep")
    assert docs.disallowed_tools == ("Bash", "WebFetch")
    assert docs.model == "claude-sonnet-5-5"
    assert set(docs.extra) - {"disallowedTools"} == {
        "permissionMode",
        "skills",
        "color",
        "maxTurns",
    }
    assert docs.extra["permissionMode"] == "acceptEdits"
    assert list(docs.extra["skills"]) == ["openapi", "markdown-style"]
    assert docs.extra["color"] == "cyan"  # inline comment dropped
    assert docs.extra["maxTurns"] == 12

    # BOM + CRLF with a single-quoted description: strict YAML, nothing to flag
    tf = agent(cat, "terraform-planner")
    assert not codes(cat, "bom-crlf-quoted.md") & {"yaml-recovered", "crlf-unquoted"}
    assert tf.tools == ("Read", "Bash")
    assert tf.model == "inherit"
    assert "I'll use the terraform-planner agent" in tf.description  # YAML '' unescaped

    assert prompts(cat) == {
        "api-docs-writer/ex1": "Document the new POST /v2/refunds endpoint",
        "k8s-manifest-linter/ex1": "Check deployment.yaml for mistakes before I apply it",
        "terraform-planner/ex1": "Why does this plan destroy and recreate the database?",
    }


def test_07_markdown_files_without_frontmatter_are_skipped_with_a_warning() -> None:
    """07-no-frontmatter: a '# Title' file, a file with '---' rules mid-file, an empty file."""
    cat = load("07-no-frontmatter")  # must not raise
    assert names(cat) == ["spell-checker"]
    for filename in ("content-writer.md", "release-checklist.md", "empty.md"):
        found = [d for d in diags(cat, filename) if d.code == "no-frontmatter"]
        assert [d.severity for d in found] == ["warning"], f"{filename}: {diags(cat, filename)}"
    assert not errors(cat)
    assert prompts(cat) == {"spell-checker/ex1": "Proofread docs/install.md before we publish it"}


def test_08_names_that_differ_from_the_file_name() -> None:
    """08-name-mismatch: dotted, underscored and capitalised names in differently named files."""
    cat = load("08-name-mismatch")
    # sorted case-insensitively: 'Markdown_Linter' sits between 'geepers_a11y' and 'powershell'
    assert names(cat) == [
        "geepers_a11y",
        "Markdown_Linter",
        "powershell-5.1-expert",
        "sql-formatter",
    ]
    assert agent(cat, "powershell-5.1-expert").path.name == "ps-expert.md"
    assert agent(cat, "geepers_a11y").path.name == "a11y.md"
    for filename in ("ps-expert.md", "a11y.md", "md-lint.md"):
        mismatch = [d for d in diags(cat, filename) if d.code == "name-mismatch"]
        assert [d.severity for d in mismatch] == ["info"], filename
    assert "name-mismatch" not in codes(cat, "sql-formatter.md")
    assert "invalid-name" not in codes(cat)  # dots, underscores and capitals are fine
    assert not errors(cat)
    by_id = cases(cat)
    assert set(by_id) == {
        "geepers_a11y/ex1",
        "Markdown_Linter/ex1",
        "powershell-5.1-expert/ex1",
        "sql-formatter/ex1",
    }
    assert by_id["powershell-5.1-expert/ex1"].expected == ("powershell-5.1-expert",)
    assert by_id["powershell-5.1-expert/ex1"].prompt == (
        "My PowerShell script works in 7 but fails on the Windows Server 2016 box"
    )


def test_08b_two_files_with_one_name_is_an_error_naming_both() -> None:
    """08b-duplicate-names: reviewer-one.md and reviewer-two.md both say name: api-reviewer."""
    cat = load("08b-duplicate-names")  # a bad file never makes load_catalog raise
    assert names(cat) == ["api-reviewer", "schema-linter"]
    kept = agent(cat, "api-reviewer")
    assert kept.path.name == "reviewer-one.md"  # first in sorted path order wins
    assert kept.description.startswith("FIRST DEFINITION.")
    dups = [d for d in cat.diagnostics if d.code == "duplicate-name"]
    assert dups, "no duplicate-name diagnostic"
    assert all(d.severity == "error" for d in dups)
    assert any("reviewer-one.md" in d.message and "reviewer-two.md" in d.message for d in dups)
    assert prompts(cat) == {
        "api-reviewer/ex1": "Review the URL design of our new billing API",
        "schema-linter/ex1": "Lint openapi.yaml and list every problem",
    }


def test_08c_names_claude_code_rejects_are_flagged() -> None:
    """08c-invalid-names: a name starting with '-' and one containing ':' (reserved for plugins)."""
    cat = load("08c-invalid-names")
    assert "plain-agent" in names(cat)
    for filename in ("dash-first.md", "team-reviewer.md"):
        invalid = [d for d in diags(cat, filename) if d.code == "invalid-name"]
        assert [d.severity for d in invalid] == ["warning"], filename
    assert "invalid-name" not in codes(cat, "plain-agent.md")
    assert not errors(cat)


def test_09_agent_without_examples_stays_a_routing_target() -> None:
    """09-no-examples: an agent with no <example> blocks is in the catalog but yields no case."""
    cat = load("09-no-examples")
    assert names(cat) == ["branch-namer", "commit-message-writer"]
    writer = agent(cat, "commit-message-writer")
    assert writer.tools == ("Bash",)
    assert extract_examples(writer) == ()
    no_examples = [d for d in diags(cat, "commit-message-writer.md") if d.code == "no-examples"]
    assert [d.severity for d in no_examples] == ["info"]
    assert "no-examples" not in codes(cat, "branch-namer.md")
    assert not errors(cat)
    assert set(cases(cat)) == {"branch-namer/ex1"}


def test_10_turns_in_any_case_separated_by_newlines_spaces_or_nothing() -> None:
    """10-turn-separators: newline-, space- and un-separated turns; User:/ASSISTANT: casing."""
    cat = load("10-turn-separators")
    exs = examples(cat, "migration-checker")
    assert len(exs) == 4
    assert [e.context for e in exs] == [
        "A developer wrote a migration that renames a column.",
        "Someone is about to deploy on a Friday.",
        "A schema migration was made.",  # '...was made.user: "Fix it"'
        "The on-call engineer sees a migration stuck for ten minutes.",
    ]
    assert [e.user for e in exs] == [
        "Is this migration safe to run on a live table?",
        "Check my pending migrations before I deploy",
        "Fix it",  # '"Fix it"assistant: ...'
        "the migration has held a lock for ten minutes, what do I do",
    ]
    assert "find and fix the problem" in exs[2].assistant
    assert "inspect the blocking query" in exs[3].assistant
    for ex in exs[1:3]:
        assert "commentary" not in ex.assistant.lower()
    assert exs[1].commentary == "Pre-deploy migration review is this agent's job."
    assert exs[2].commentary == "The user wants the fresh migration repaired."
    by_id = cases(cat)
    assert set(by_id) == {f"migration-checker/ex{n}" for n in (1, 2, 3, 4)}
    assert by_id["migration-checker/ex3"].prompt == "Fix it"
    assert by_id["migration-checker/ex3"].context == "A schema migration was made."
    assert not errors(cat)


def test_11_user_text_double_quoted_single_quoted_with_apostrophes_or_unquoted() -> None:
    """11-user-quoting: "...won't...", '...I've...isn't...it's slow', and unquoted user text."""
    cat = load("11-user-quoting")
    assert prompts(cat) == {
        "index-advisor/ex1": "Postgres won't use my index on users.email, why?",
        "index-advisor/ex2": (
            "I've added a column to orders and now the dashboard query isn't fast anymore, "
            "it's slow"
        ),
        "index-advisor/ex3": "should we index the created_at column on events or is that a waste?",
    }
    exs = examples(cat, "index-advisor")
    assert "new column needs an index" in exs[1].assistant
    assert "weigh the write cost" in exs[2].assistant
    assert not errors(cat)


def test_12_examples_as_list_items_with_headers_and_text_between() -> None:
    """12-example-lists: `Examples:` header, `- <example>` items, prose between the examples."""
    cat = load("12-example-lists")
    a = agent(cat, "ci-workflow-fixer")
    exs = extract_examples(a)
    assert len(exs) == 3
    assert [e.line for e in exs] == example_lines_in_file(a.path)
    assert [e.context for e in exs] == [
        "A workflow fails with a YAML error.",
        "CI went from 6 to 25 minutes.",
        None,
    ]
    assert exs[1].commentary.strip() == "Workflow performance is in scope too."
    between = ("Another common case", "More examples", "never changes deployment secrets")
    for ex in exs:
        for field in (ex.context, ex.user, ex.assistant, ex.commentary):
            assert not any(text in (field or "") for text in between), ex
    assert prompts(cat) == {
        "ci-workflow-fixer/ex1": (
            "The deploy workflow says 'mapping values are not allowed here', what's wrong?"
        ),
        "ci-workflow-fixer/ex2": (
            "Our test job got four times slower this quarter, can you find out why?"
        ),
        "ci-workflow-fixer/ex3": "Add a matrix build for Python 3.10 to 3.13",
    }
    assert not errors(cat)


def test_13_example_without_a_user_turn_is_counted_but_not_a_case() -> None:
    """13-no-user-turn: ex1 has only Context + assistant (proactive); ex2 is a normal example."""
    cat = load("13-no-user-turn")
    exs = examples(cat, "security-sentinel")
    assert len(exs) == 2
    assert exs[0].user is None
    assert exs[0].context == "The assistant has just finished writing a file-upload handler."
    assert "The upload handler is done." in exs[0].assistant
    no_user = [d for d in diags(cat, "security-sentinel.md") if d.code == "example-no-user"]
    assert [d.severity for d in no_user] == ["warning"]
    # the case keeps the example's own number: ex2, not ex1; no prompt is invented for ex1
    assert prompts(cat) == {
        "security-sentinel/ex2": "Is the raw SQL string concatenation in reports.py exploitable?"
    }
    assert not errors(cat)


def test_14_agent_speaker_two_assistant_turns_and_omitted_function_calls() -> None:
    """14-speakers: `agent:` as the speaker, two assistant turns, a second user turn."""
    cat = load("14-speakers")
    exs = examples(cat, "python-profiler")
    assert len(exs) == 3
    assert "find the hot spots" in exs[0].assistant  # `agent:` counts as the assistant
    assert "Here is a first version of the deduplication function." in exs[1].assistant
    assert "measure it and tune the slow parts" in exs[1].assistant
    assert "Could you share the script" in exs[2].assistant
    assert "profile that run" in exs[2].assistant
    assert prompts(cat) == {
        "python-profiler/ex1": "My pandas job takes forty minutes on a 2 GB CSV",
        "python-profiler/ex2": (
            "Add a function that deduplicates these records, and make sure it is quick"
        ),
        "python-profiler/ex3": "Why is my script so slow?",  # the first user turn only
    }
    for prompt in prompts(cat).values():
        assert "function call omitted" not in prompt
        assert "python main.py" not in prompt
    assert not errors(cat)


def test_15_assistant_turn_that_names_the_answer_never_reaches_the_prompt() -> None:
    """15-assistant-names-answer: "I'll use the dependency-auditor agent", quoted and same-line."""
    cat = load("15-assistant-names-answer")
    by_id = cases(cat)
    assert {cid: c.prompt for cid, c in by_id.items()} == {
        "dependency-auditor/ex1": (
            "Before we ship, can you check our requirements.txt for anything risky?"
        ),
        "dependency-auditor/ex2": "are any of our npm packages unmaintained?",
    }
    for case in by_id.values():
        assert case.expected == ("dependency-auditor",)
        assert "dependency-auditor" not in case.prompt
        assert "I'll use" not in case.prompt
    ex2 = examples(cat, "dependency-auditor")[1]
    assert "check the last release date of each package" in ex2.assistant
    assert ex2.commentary == "Maintenance status is part of a dependency audit."
    assert not errors(cat)


def test_16_orchestrator_naming_another_agent_still_expects_its_own_agent() -> None:
    """16-orchestrator: release-orchestrator's examples hand work to changelog-writer etc."""
    cat = load("16-orchestrator")
    assert names(cat) == ["changelog-writer", "release-orchestrator"]
    by_id = cases(cat)
    for cid in ("release-orchestrator/ex1", "release-orchestrator/ex2"):
        assert by_id[cid].expected == ("release-orchestrator",), cid
        assert "names-other-agent" in by_id[cid].tags, cid
    assert by_id["changelog-writer/ex1"].expected == ("changelog-writer",)
    assert "names-other-agent" not in by_id["changelog-writer/ex1"].tags
    assert by_id["release-orchestrator/ex1"].prompt == (
        "Cut the 3.2 release: bump the versions, tag it and publish the notes"
    )
    assert by_id["release-orchestrator/ex2"].prompt == "Ship the hotfix branch to production today"
    assert not errors(cat)


def test_17_proactive_follow_ups_are_kept_and_tagged() -> None:
    """17-proactive: ex1 commentary says proactively, ex2 is a direct request, ex3 acts first."""
    cat = load("17-proactive")
    exs = examples(cat, "test-writer")
    assert len(exs) == 3
    assert "proactive" in exs[0].tags  # the commentary says so
    assert "proactive" not in exs[1].tags  # a plain, direct request
    assert "proactive" in exs[2].tags  # the assistant writes code, then delegates
    by_id = cases(cat)
    assert set(by_id) == {"test-writer/ex1", "test-writer/ex2", "test-writer/ex3"}  # all kept
    assert "proactive" in by_id["test-writer/ex1"].tags
    assert "proactive" not in by_id["test-writer/ex2"].tags
    assert "proactive" in by_id["test-writer/ex3"].tags
    assert (
        by_id["test-writer/ex1"].prompt == "Please write a function that parses ISO-8601 durations"
    )
    assert by_id["test-writer/ex2"].prompt == "Write unit tests for the invoice rounding helper"
    assert by_id["test-writer/ex3"].prompt == "Add a retry decorator to the HTTP client"
    assert not errors(cat)


def test_18_near_identical_prompts_in_two_agents_are_both_kept() -> None:
    """18-near-duplicates: "Can you review..." vs "Could you review...", plus an identical pair."""
    cat = load("18-near-duplicates")
    assert names(cat) == ["frontend-reviewer", "react-code-reviewer"]
    by_id = cases(cat)
    assert {cid: (c.prompt, c.expected) for cid, c in by_id.items()} == {
        "frontend-reviewer/ex1": (
            "Can you review my React component for performance problems?",
            ("frontend-reviewer",),
        ),
        "frontend-reviewer/ex2": (
            "Please review the changes in src/components/Navbar.tsx",
            ("frontend-reviewer",),
        ),
        "react-code-reviewer/ex1": (
            "Could you review my React component for performance problems?",
            ("react-code-reviewer",),
        ),
        "react-code-reviewer/ex2": (
            "Please review the changes in src/components/Navbar.tsx",
            ("react-code-reviewer",),
        ),
    }
    assert not errors(cat)


def test_19_unclosed_and_empty_examples_html_entities_and_non_ascii() -> None:
    """19-malformed-examples: entities (ex1), empty block (ex2), unclosed (ex3), non-ASCII (ex4)."""
    cat = load("19-malformed-examples")
    a = agent(cat, "i18n-fixer")
    assert "(français, 日本語, العربية). 🌍" in a.description
    assert "文字コードの問題を直します。" in a.body
    exs = extract_examples(a)
    assert len(exs) == 4
    empty = exs[1]
    assert (empty.context, empty.user, empty.assistant, empty.commentary) == (None,) * 4
    # the unclosed ex3 ends where ex4 begins: it does not swallow ex4
    assert "Japanese" not in (exs[2].assistant or "") and "日本語" not in (exs[2].assistant or "")
    assert "find where the encoding goes wrong" in exs[2].assistant
    assert exs[3].context == "Japanese customers report garbled emails."
    assert exs[3].commentary == "Encoding problems in non-Latin scripts belong to i18n-fixer."
    assert {"example-empty", "example-unclosed"} <= codes(cat, "i18n-fixer.md")
    for d in diags(cat, "i18n-fixer.md"):
        if d.code in {"example-empty", "example-unclosed"}:
            assert d.severity == "warning"
    assert not errors(cat)
    assert prompts(cat) == {
        "i18n-fixer/ex1": (
            'Why does the check `a && b < 10` print "always true" in the French build?'
        ),
        "i18n-fixer/ex3": "The title shows CafÃ© instead of Café on the checkout page",
        "i18n-fixer/ex4": "日本語のメールが文字化けしています 😢 can you fix the encoding?",
    }


def test_32_duplicate_keys_keep_the_last_value_in_both_readings() -> None:
    """32-duplicate-keys: repeated `user:` lines after the retry, a repeated `description:` and a
    repeated `name:`. Claude Code lists all three with the last value of each key."""
    folder = FORMATS / "32-duplicate-keys"
    cat = load_catalog([folder], version="2.1.332")
    assert names(cat) == ["changelog-writer", "incident-triager", "release-captain"]
    assert cat.claude_code is not None
    assert cat.claude_code.names == ("changelog-writer", "incident-triager", "release-captain")
    assert cat.unlisted == ()

    shown = cat.claude_code.get("incident-triager")
    assert shown is not None and shown.description == (
        "Use this agent to triage production incidents from alerts and logs. <example>"
    )  # the retry quotes each `user:` line and the repeated keys cut the description
    assert shown.tools_text == "Read, Grep"
    assert cat.claude_code.file(folder / "incident-triager.md").retried
    assert [(d.path.name, d.code) for d in cat.differences()] == [
        ("incident-triager.md", "cc-description-cut")
    ]
    assert agent(cat, "incident-triager").description.count("<example>") == 2

    for name, opening in (
        ("changelog-writer", "Use this agent to write changelog entries from merged"),
        ("release-captain", "Use this agent to coordinate a release: freeze, tag, announce."),
    ):
        listed = cat.claude_code.get(name)
        assert listed is not None and listed.description.startswith(opening), name
        assert agent(cat, name).description.startswith(opening), name
        assert not cat.claude_code.file(listed.path).retried
    assert "draft-release-helper" not in cat.claude_code.names
    assert not errors(cat)
    assert prompts(cat) == {
        "changelog-writer/ex1": "Write the changelog for the pull requests merged this week",
        "incident-triager/ex1": "The checkout page returns 500s",
        "incident-triager/ex2": "Latency doubled on the payments API",
        "release-captain/ex1": "Coordinate the 4.2 release for Thursday",
    }


# --------------------------------------------------------------------------- seed and contract


@pytest.mark.skipif(not SEED.is_file(), reason=f"seed file {SEED} not available")
def test_seed_file_loads_with_two_cases(tmp_path: Path) -> None:
    shutil.copy(SEED, tmp_path / SEED.name)
    cat = load_catalog([tmp_path])
    assert names(cat) == ["backend-code-developer"]
    a = agent(cat, "backend-code-developer")
    assert a.model == "sonnet" and a.extra == {"color": "blue"} and a.tools == ()
    assert "yaml-recovered" in codes(cat)
    assert not errors(cat)
    assert prompts(cat) == {
        "backend-code-developer/ex1": (
            "I need to create a login endpoint that validates user credentials and returns a "
            "JWT token"
        ),
        "backend-code-developer/ex2": (
            "Can you help me set up database models for a blog application with posts and comments?"
        ),
    }


def test_several_dirs_load_into_one_sorted_catalog() -> None:
    cat = load_catalog([FORMATS / "09-no-examples", FORMATS / "01-one-line-colons"])
    assert names(cat) == ["branch-namer", "commit-message-writer", "log-summarizer"]


def test_missing_dir_raises_catalog_error(tmp_path: Path) -> None:
    assert issubclass(CatalogError, AgentEvalError)
    with pytest.raises(CatalogError):
        load_catalog([tmp_path / "does-not-exist"])


def test_dir_with_no_agents_raises_catalog_error(tmp_path: Path) -> None:
    shutil.copy(FORMATS / "07-no-frontmatter" / "content-writer.md", tmp_path)
    with pytest.raises(CatalogError):
        load_catalog([tmp_path])
