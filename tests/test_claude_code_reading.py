"""The Claude Code reading, rule by rule, against hand-written expectations (no CLI needed).

tests/test_claude_code_conformance.py checks the same fixtures against the real CLI; this file
pins what each rule means so a reader can see it, and covers the versioned rules (BOM, `:` in
names) for the older CLI too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agenteval.catalog import load_catalog, read_as_claude_code
from agenteval.catalog.claude_code import (
    collation_key,
    listing_key,
    pinned_version,
    retry_text,
    tools_text,
    version_tuple,
)

FORMATS = Path(__file__).resolve().parent / "fixtures" / "formats"
NEW, OLD = "2.1.332", "2.1.197"


def reading(slug: str, version: str = NEW):
    return read_as_claude_code([FORMATS / slug], version=version)


def status(slug: str, version: str = NEW) -> dict[str, tuple[str, str | None]]:
    return {f.relative: (f.status, f.reason) for f in reading(slug, version).files}


def test_pinned_version_is_the_data_file():
    assert (
        pinned_version()
        == (FORMATS.parents[2] / "src/agenteval/data/claude-code-version").read_text().strip()
    )
    assert version_tuple("2.1.332 (Claude Code)") == (2, 1, 332)


def test_listing_order_is_localecompare_not_python_sorted():
    names = ["beta1", "beta.x", "Beta", "beta-x", "beta_x", "beta"]
    assert sorted(names, key=collation_key) == [
        "beta",
        "Beta",
        "beta_x",
        "beta-x",
        "beta.x",
        "beta1",
    ]
    assert sorted(names) == ["Beta", "beta", "beta-x", "beta.x", "beta1", "beta_x"]
    assert reading("28-listing-order").names == (
        "_under", "Alpha", "alpha-2", "beta", "Beta", "beta_x", "beta-x", "beta.x", "beta1",
        "zeta", "Éclair",
    )  # fmt: skip


def test_a_leading_blank_line_drops_the_file():
    assert status("20-leading-blank-line") == {
        "late-fence.md": ("skipped", "cc-no-frontmatter"),
        "on-time.md": ("listed", None),
    }


def test_a_bom_is_stripped_from_2_1_332_and_fatal_before():
    new, old = status("06-crlf-bom-extras"), status("06-crlf-bom-extras", OLD)
    assert new["bom-yaml-list.md"] == ("listed", None)
    assert old["bom-yaml-list.md"] == ("skipped", "cc-bom")
    assert new["crlf-unquoted.md"] == old["crlf-unquoted.md"] == ("skipped", "cc-yaml-skipped")


def test_names_with_a_colon_load_only_in_older_versions():
    assert status("08c-invalid-names")["team-reviewer.md"] == ("skipped", "cc-name-colon")
    assert status("08c-invalid-names", OLD)["team-reviewer.md"] == ("listed", None)
    assert status("08c-invalid-names")["dash-first.md"] == ("skipped", "cc-name-dash")


def test_yaml_1_2_scalars():
    r = reading("22-yaml12-scalars")
    assert r.get("yes-man").description == "yes"  # YAML 1.1 would read True
    assert r.get("on") is not None  # `name: on` stays the string "on"
    assert r.get("dated").description == "2024-05-01"  # no timestamps in the core schema
    assert r.get("off-switch").tools_text == "no"
    st = status("22-yaml12-scalars")
    assert st["perms.md"] == ("skipped", "cc-description-not-text")  # 0777 is the number 777
    assert st["nothing.md"] == st["tilde.md"] == ("skipped", "cc-description-not-text")


def test_tabs_only_survive_inside_a_value():
    assert status("23-tabs") == {
        "tab-block.md": ("skipped", "cc-yaml-skipped"),
        "tab-in-value.md": ("listed", None),
        "tabbed-keys.md": ("skipped", "cc-yaml-skipped"),
    }
    assert reading("23-tabs").get("tab-in-value").description == (
        "Use this agent\tfor aligning columns in tables."
    )


def test_names_must_be_text():
    assert reading("24-numeric-names").names == ("7",)


def test_a_fence_in_the_middle_of_a_line_ends_the_frontmatter():
    r = reading("25-fence-mid-line")
    assert r.get("dashes").description == "Use this agent to draw separators like"
    assert r.file(FORMATS / "25-fence-mid-line/dashes.md").fence_mid_line
    assert r.get("clean-fence") is not None  # `---` followed by spaces closes too


def test_discovery_nested_hidden_md_only_and_the_last_path_wins():
    r = reading("26-nested-hidden")
    assert r.names == ("api-designer", "secret-keeper", "top-level")
    assert r.get("top-level").description == "Use this agent for work at the top of the tree."
    assert status("26-nested-hidden")["team/top-level.md"] == ("overridden", "cc-overridden")


def test_symlinks_are_followed_once_and_bad_links_reported():
    r = reading("27-symlinks")
    assert r.names == ("disk-janitor",)
    assert r.get("disk-janitor").path == FORMATS / "27-symlinks/real/disk-janitor.md"
    assert {(d.path.name, d.code) for d in r.diagnostics} == {
        ("dangling.md", "dangling-link"),
        ("loop", "symlink-loop"),
    }


@pytest.mark.parametrize(
    "tools, disallowed, shown",
    [
        (None, None, "All tools"),
        ("*", None, "All tools"),
        ({"Read": True}, None, "All tools"),
        (["Read", "Grep"], None, "Read, Grep"),
        ("Read,Grep ,  Bash(git:*)", None, "Read, Grep, Bash(git:*)"),
        (None, "Bash, Write", "All tools except Bash, Write"),
        ("Read, Bash, Grep", "Bash", "Read, Grep"),
        ("Bash", "Bash", "None"),
    ],
)
def test_tools_text(tools, disallowed, shown):
    assert tools_text(tools, disallowed) == shown


def test_tools_fixture_folder():
    r = reading("29-tools-text")
    assert {a.name: a.tools_text for a in r.agents} == {
        "all-denied": "None",
        "both-tools": "Read, Grep",
        "denied-only": "All tools except Bash, Write",
        "empty-tools": "All tools",
        "list-tools": "Read, Grep",
        "map-tools": "All tools",
        "spaced-tools": "Read, Grep, Bash(git:*)",
        "star-tools": "All tools",
    }


def test_the_retry_quotes_special_values_and_keeps_wrapped_ones():
    assert retry_text("description: Use it: now") == 'description: "Use it: now"'
    assert retry_text('description: say "hi": \\o/') == 'description: "say \\"hi\\": \\\\o/"'
    assert retry_text('description: "quoted: value"') == 'description: "quoted: value"'
    assert retry_text("tools: [Read, Grep]") == "tools: [Read, Grep]"
    assert retry_text("tools: {Read}") == 'tools: "{Read}"'  # braces are quoted, brackets not
    assert retry_text("description: Use it: now\r") == "description: Use it: now\r"  # CR: untouched
    assert retry_text("\tmodel: haiku") == "  model: haiku"


def test_the_retry_recovers_or_cuts():
    r = reading("30-retry-quoting")
    assert r.get("quote-inside").description == (
        'Use this agent when asked "what is: this" or similar: it answers.'
    )
    assert (
        r.get("cut-after-retry").description == "Use this agent to plan sprints: it sizes tickets."
    )
    assert r.get("escaped-newline").description == "First line\nSecond line\\tafter tab\\r\nthird"
    assert r.get("hopeless") is None
    assert r.get("brace-tools").tools_text == "{Read}"
    assert all(f.retried for f in r.files if f.relative != "escaped-newline.md")


def test_block_scalars_keep_their_trailing_newline_and_spaces():
    r = reading("06-crlf-bom-extras")
    text = r.get("api-docs-writer").description
    assert text.endswith("</example>\n")
    assert "documentation.   \n" in text


def test_control_characters_reach_the_listing_unchanged():
    r = reading("31-control-chars")
    assert "bell\x07ringer" in r.names and "nul\x00byte" in r.names


def test_the_catalog_carries_both_readings():
    cat = load_catalog([FORMATS / "05-unindented-continuation"], version=NEW)
    assert [a.name for a in cat.agents] == ["cron-expert", "flaky-test-hunter"]
    assert cat.claude_code is not None and cat.claude_code.version == NEW
    assert cat.claude_code.names == ()  # Claude Code lists neither
    assert {f.reason for f in cat.claude_code.not_listed} == {"cc-yaml-skipped"}


def test_the_catalog_as_claude_code_shows_it_for_routing():
    cat = load_catalog([FORMATS / "30-retry-quoting"], version=NEW)
    assert cat.unlisted == ("hopeless",)
    shown = cat.as_claude_code()
    assert shown.claude_code is cat.claude_code
    assert [a.name for a in shown.agents] == list(cat.claude_code.names)
    cut = shown.get("cut-after-retry")
    assert (
        cut is not None and cut.description == "Use this agent to plan sprints: it sizes tickets."
    )
    assert cut.body == cat.get("cut-after-retry").body
    tools = load_catalog([FORMATS / "29-tools-text"], version=NEW).as_claude_code()
    assert tools.get("all-denied").tools_text == "None"
    assert {d.code for d in cat.differences()} >= {"cc-description-cut", "cc-yaml-skipped"}


def test_a_duplicate_name_lists_the_last_path_from_2_1_332_and_the_first_file_before():
    new, old = reading("08b-duplicate-names"), reading("08b-duplicate-names", OLD)
    assert new.get("api-reviewer").path.name == "reviewer-two.md"
    assert old.get("api-reviewer").path.name == "reviewer-one.md"
    assert status("08b-duplicate-names")["reviewer-one.md"] == ("overridden", "cc-overridden")
    assert status("08b-duplicate-names", OLD)["reviewer-two.md"] == ("overridden", "cc-overridden")
    assert new.names == old.names == ("api-reviewer", "schema-linter")


def test_2_1_197_collation_folds_accents_where_2_1_332_puts_non_ascii_last():
    names = ["zeta", "Éclair", "éclair", "eclair", "beta1", "Eclair"]
    assert sorted(names, key=listing_key(OLD)) == [
        "beta1", "eclair", "Eclair", "éclair", "Éclair", "zeta",
    ]  # fmt: skip
    assert sorted(names, key=listing_key(NEW)) == [
        "beta1", "eclair", "Eclair", "zeta", "Éclair", "éclair",
    ]  # fmt: skip
    assert reading("28-listing-order", OLD).names[-3:] == ("beta1", "Éclair", "zeta")
    assert reading("28-listing-order").names[-3:] == ("beta1", "zeta", "Éclair")
