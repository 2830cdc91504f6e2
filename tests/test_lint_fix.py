"""`agenteval lint --fix` never destroys: it changes the description's form and nothing else,
never writes outside the agents folder, replaces each file atomically, and reports what it could
not write instead of stopping."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from agenteval.catalog import load_catalog
from agenteval.cli import main
from agenteval.pipeline import lint as lint_module
from agenteval.pipeline.lint import apply_fixes, lint_catalog, propose_fixes

VERSION = "2.1.332"

# A description Claude Code cuts to its first line: its turns sit at column 0 and the retry turns
# them into keys of their own.
BROKEN_DESCRIPTION = textwrap.dedent(
    """\
    description: Use this agent to write, explain or debug cron schedules and systemd timers.
    Examples:
    <example>
    Context: A backup job runs at the wrong hour after a clock change.
    User: "My backup cron 0 2 * * * ran at 3am last Sunday, why?"
    Assistant: "I'll use the cron-expert agent to explain daylight saving time."
    </example>"""
).split("\n")


def invoke(*args: str):
    return CliRunner().invoke(main, ["lint", "--claude-code-version", VERSION, *args])


def write_agent(folder: Path, stem: str, before: list[str], after: list[str]) -> Path:
    """An agent file whose frontmatter is `before`, the broken description, then `after`."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["---", f"name: {stem}", *before, *BROKEN_DESCRIPTION, *after, "---", "", "Body."]
    path = folder / f"{stem}.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def description_span(lines: list[str]) -> range:
    """Where the description stands in a frontmatter written by `write_agent` or fixed."""
    start = next(i for i, ln in enumerate(lines) if ln.startswith("description:"))
    end = start + 1
    while end < len(lines) and (
        lines[end].startswith("  ")
        or lines[end] == ""
        and end + 1 < len(lines)
        and lines[end + 1].startswith("  ")
        or lines[end] in BROKEN_DESCRIPTION
    ):
        end += 1
    return range(start, end)


def outside_description(text: str) -> list[str]:
    lines = text.split("\n")
    span = description_span(lines)
    return [ln for i, ln in enumerate(lines) if i not in span]


def fix_folder(folder: Path) -> tuple[int, tuple]:
    report = lint_catalog(load_catalog([folder], version=VERSION), overlap=None)
    fixes = propose_fixes(report)
    return len(fixes), apply_fixes(fixes)


# -- A.1: nothing but the description's form changes ---------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ["# owner: team-a"],
        ["x-owner: team-a"],
        ["metadata:", "  owner: team-a", "  tier: 2"],
        ["# owner: team-a", "x-owner: team-a", "metadata:", "  owner: team-a", "  tier: 2"],
    ],
    ids=["comment", "unknown-key", "nested-map", "all-three"],
)
def test_fix_keeps_comments_unknown_keys_and_nested_maps_after_the_description(tmp_path, extra):
    path = write_agent(tmp_path / "agents", "cron-expert", [], [*extra, "model: haiku"])
    before = path.read_text(encoding="utf-8")
    result = invoke("--fix", "--agents", str(tmp_path / "agents"))
    after = path.read_text(encoding="utf-8")
    assert "fixed 1 of 1 files" in result.output, result.output
    assert outside_description(after) == outside_description(before)
    for line in extra:
        assert line in after.split("\n")
    shown = load_catalog([tmp_path / "agents"], version=VERSION)
    assert shown.claude_code is not None and shown.claude_code.names == ("cron-expert",)
    assert shown.agents[0].extra == load_catalog_extra(before, tmp_path)


def load_catalog_extra(text: str, tmp_path: Path) -> dict:
    again = tmp_path / "again"
    again.mkdir(exist_ok=True)
    (again / "cron-expert.md").write_text(text, encoding="utf-8")
    return dict(load_catalog([again], version=VERSION).agents[0].extra)


def test_fix_keeps_a_comment_between_the_descriptions_lines(tmp_path):
    folder = tmp_path / "agents"
    path = write_agent(folder, "cron-expert", [], ["model: haiku"])
    lines = path.read_text(encoding="utf-8").split("\n")
    at = lines.index("<example>")
    lines.insert(at, "# reviewed: 2026-11")
    path.write_text("\n".join(lines), encoding="utf-8")
    fix_folder(folder)
    after = path.read_text(encoding="utf-8").split("\n")
    assert "# reviewed: 2026-11" in after
    assert after[-4:] == lines[-4:]


OTHER_LINE = st.one_of(
    st.from_regex(r"# [a-z][a-z :-]{0,20}", fullmatch=True),
    st.from_regex(r"x-[a-z]{1,8}: [a-z0-9][a-z0-9 -]{0,12}", fullmatch=True),
    st.builds(
        lambda key, pairs: [f"{key}:", *(f"  {k}: {v}" for k, v in pairs)],
        st.from_regex(r"meta[a-z]{0,5}", fullmatch=True),
        st.lists(
            st.tuples(
                st.from_regex(r"[a-z]{1,6}", fullmatch=True),
                st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True),
            ),
            min_size=1,
            max_size=3,
            unique_by=lambda kv: kv[0],
        ),
    ),
    st.sampled_from(["model: haiku", "color: blue", "tools: Read, Grep"]),
)


def flatten(items: list) -> list[str]:
    out: list[str] = []
    for item in items:
        out.extend(item if isinstance(item, list) else [item])
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=st.lists(OTHER_LINE, max_size=4), after=st.lists(OTHER_LINE, max_size=4))
def test_fix_changes_only_the_description_for_any_frontmatter(tmp_path_factory, before, after):
    before_lines, after_lines = flatten(before), flatten(after)
    keys = [
        ln.split(":", 1)[0] for ln in before_lines + after_lines if not ln.startswith(("#", " "))
    ]
    assume(len(keys) == len(set(keys)))  # duplicate keys are another finding's subject
    folder = tmp_path_factory.mktemp("agents")
    path = write_agent(folder, "cron-expert", before_lines, after_lines)
    original = path.read_text(encoding="utf-8")
    fix_folder(folder)
    fixed = path.read_text(encoding="utf-8")
    assert "description: |-" in fixed  # it was fixed
    assert outside_description(fixed) == outside_description(original)
    for line in before_lines + after_lines:
        assert line in fixed.split("\n")


# -- A.2: links -------------------------------------------------------------------------------


def test_fix_leaves_a_symlink_to_a_file_outside_the_folder_and_says_so(tmp_path):
    outside = write_agent(tmp_path / "elsewhere", "cron-expert", [], ["model: haiku"])
    original = outside.read_bytes()
    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "cron-expert.md").symlink_to(outside)
    result = invoke("--fix", "--agents", str(folder))
    assert outside.read_bytes() == original
    assert (folder / "cron-expert.md").is_symlink()
    assert "outside" in result.output and "not fixed" in result.output, result.output
    assert result.exit_code == 1


def test_fix_writes_a_links_target_inside_the_folder_and_keeps_the_link(tmp_path):
    folder = tmp_path / "agents"
    target = write_agent(folder / "real", "cron-expert", [], ["model: haiku"])
    link = folder / "linked.md"
    link.symlink_to(Path("real") / "cron-expert.md")
    written = fix_folder(folder)[1]
    assert link.is_symlink() and os.readlink(link) == str(Path("real") / "cron-expert.md")
    assert "description: |-" in target.read_text(encoding="utf-8")
    assert sum(w.written for w in written) == 1  # one file, though two paths lead to it


def test_fix_leaves_a_hard_linked_file_and_says_so(tmp_path):
    outside = write_agent(tmp_path / "elsewhere", "cron-expert", [], ["model: haiku"])
    original = outside.read_bytes()
    folder = tmp_path / "agents"
    folder.mkdir()
    os.link(outside, folder / "cron-expert.md")
    result = invoke("--fix", "--agents", str(folder))
    assert outside.read_bytes() == original
    assert (folder / "cron-expert.md").read_bytes() == original
    assert "hard link" in result.output, result.output


# -- A.3: atomic, and never over an edit made meanwhile ------------------------------------------


def test_fix_refuses_a_file_changed_since_it_was_read_and_names_it(tmp_path):
    folder = tmp_path / "agents"
    first = write_agent(folder, "cron-expert", [], ["model: haiku"])
    second = write_agent(folder, "cron-helper", [], ["model: haiku"])
    fixes = propose_fixes(lint_catalog(load_catalog([folder], version=VERSION), overlap=None))
    edited = second.read_text(encoding="utf-8").replace("Body.", "Body, edited meanwhile.")
    second.write_text(edited, encoding="utf-8")
    outcomes = {o.path.name: o for o in apply_fixes(fixes)}
    assert outcomes["cron-expert.md"].written
    assert not outcomes["cron-helper.md"].written
    assert "changed" in outcomes["cron-helper.md"].reason
    assert second.read_text(encoding="utf-8") == edited
    assert "description: |-" in first.read_text(encoding="utf-8")


def test_fix_replaces_files_whole_and_keeps_their_mode(tmp_path):
    folder = tmp_path / "agents"
    path = write_agent(folder, "cron-expert", [], ["model: haiku"])
    path.chmod(0o640)
    inode = path.stat().st_ino
    fix_folder(folder)
    assert path.stat().st_ino != inode  # a new file renamed into place, not rewritten in place
    assert path.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in folder.iterdir()] == ["cron-expert.md"]  # no temporary left


def test_sigkill_while_fixing_never_leaves_a_truncated_file(tmp_path):
    folder = tmp_path / "agents"
    paths = [write_agent(folder, f"cron-{i:03d}", [], ["model: haiku"]) for i in range(300)]
    originals = {p: p.read_bytes() for p in paths}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agenteval.cli",
            "lint",
            "--fix",
            "--overlap",
            "1",
            "--claude-code-version",
            VERSION,
            "--agents",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and all(p.read_bytes() == originals[p] for p in paths):
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    changed = 0
    for p in paths:
        data = p.read_bytes()
        if data != originals[p]:
            changed += 1
            assert b"description: |-" in data and data.endswith(b"Body.\n")
    assert changed > 0
    leftovers = [p.name for p in folder.iterdir() if not re.fullmatch(r"cron-\d{3}\.md", p.name)]
    assert all(n.startswith(".") and n.endswith(".agenteval-fix") for n in leftovers)  # never .md


# -- A.4: files it cannot read or write -----------------------------------------------------------


def test_a_read_only_file_is_reported_and_the_other_fixes_are_written(tmp_path):
    folder = tmp_path / "agents"
    locked = write_agent(folder, "cron-expert", [], ["model: haiku"])
    other = write_agent(folder, "cron-helper", [], ["model: haiku"])
    original = locked.read_bytes()
    locked.chmod(0o444)
    result = invoke("--fix", "--agents", str(folder))
    assert locked.read_bytes() == original
    assert "cron-expert.md" in result.output and "read-only" in result.output, result.output
    assert "description: |-" in other.read_text(encoding="utf-8")
    assert "fixed 1 of 2 files" in result.output
    assert result.exit_code == 1  # the file it could not write still has its error


def test_an_unwritable_folder_is_reported_and_the_run_goes_on(tmp_path, monkeypatch):
    folder = tmp_path / "agents"
    write_agent(folder, "cron-expert", [], ["model: haiku"])
    other = write_agent(folder, "cron-helper", [], ["model: haiku"])
    real = lint_module.replace_file

    def refuse(path: Path, data: bytes, expected: bytes) -> None:
        if path.name == "cron-expert.md":
            raise PermissionError(13, "Permission denied", str(path))
        real(path, data, expected)

    monkeypatch.setattr(lint_module, "replace_file", refuse)
    result = invoke("--fix", "--agents", str(folder))
    assert "Permission denied" in result.output and "cron-expert.md" in result.output
    assert "Traceback" not in result.output
    assert "description: |-" in other.read_text(encoding="utf-8")


def test_an_unreadable_file_is_reported_as_not_fixed(tmp_path, monkeypatch):
    folder = tmp_path / "agents"
    path = write_agent(folder, "cron-expert", [], ["model: haiku"])
    report = lint_catalog(load_catalog([folder], version=VERSION), overlap=None)
    real_read = Path.read_bytes

    def unreadable(self: Path) -> bytes:
        if self.name == path.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", unreadable)
    (fix,) = propose_fixes(report)
    assert fix.after is None and "Permission denied" in fix.reason
