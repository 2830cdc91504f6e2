"""Loader robustness beyond FORMATS.md: odd YAML values and broken files never crash a load."""
# ruff: noqa: E501

from __future__ import annotations

from pathlib import Path

import pytest

from agenteval.cases.build import build_cases
from agenteval.catalog import load_catalog
from agenteval.errors import CatalogError

GOOD = '---\nname: good\ndescription: "Fixes things. <example>user: \\"fix it\\" assistant: ok</example>"\n---\n'


def catalog_of(tmp_path: Path, files: dict[str, bytes | str]):
    d = tmp_path / "agents"
    d.mkdir(exist_ok=True)
    (d / "good.md").write_text(GOOD)
    for name, content in files.items():
        path = d / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return load_catalog([d])


def codes(cat) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for d in cat.diagnostics:
        found.setdefault(d.path.name, set()).add(d.code)
    return found


@pytest.mark.parametrize(
    "name, content, code",
    [
        ("binary.md", b"\xff\xfe\x00not text", "unparseable"),
        ("open.md", "---\nname: open\ndescription: never closed\n", "unparseable"),
        ("empty.md", "---\n---\nbody\n", "missing-name"),
        ("nodesc.md", "---\nname: nodesc\n---\n", "missing-description"),
    ],
)
def test_unusable_files_are_skipped_with_a_reason(tmp_path, name, content, code):
    cat = catalog_of(tmp_path, {name: content})
    assert [a.name for a in cat.agents] == ["good"]
    assert code in codes(cat)[name]
    assert all(d.path.name == name for d in cat.errors)


def test_odd_values_are_read_as_text_and_flagged(tmp_path):
    cat = catalog_of(
        tmp_path,
        {
            "listy.md": "---\nname: listy\ndescription:\n  - Handles lists\n  - and more\n---\n",
            "dicty.md": "---\nname: dicty\ndescription: Reads files\ntools: {Read: true, Bash: false}\n---\n",
            "numbers.md": "---\nname: 42\ndescription: 17\n---\n",
        },
    )
    assert cat.get("listy").description == "Handles lists\nand more"
    assert "description-not-text" in codes(cat)["listy.md"]
    assert cat.get("dicty").tools == ("Read",)
    assert cat.get("42").description == "17"


def test_tabs_after_colons_are_recovered(tmp_path):
    cat = catalog_of(
        tmp_path, {"tabs.md": "---\nname:\tTabby\ndescription:\tuses tabs: here\n---\n"}
    )
    assert cat.get("Tabby").description == "uses tabs: here"


def test_thousands_of_examples_in_one_file(tmp_path):
    examples = " ".join(
        f'<example>user: \\"request {i} please\\" assistant: ok</example>' for i in range(2000)
    )
    cat = catalog_of(tmp_path, {"huge.md": f'---\nname: huge\ndescription: "{examples}"\n---\n'})
    cases = [c for c in build_cases(cat).cases if c.agent == "huge"]
    assert len(cases) == 2000
    assert cases[1999].prompt == "request 1999 please"


def test_nested_folders_are_scanned(tmp_path):
    nested = tmp_path / "agents" / "team" / "backend"
    nested.mkdir(parents=True)
    (nested / "deep.md").write_text("---\nname: deep\ndescription: Deep one\n---\n")
    cat = catalog_of(tmp_path, {})
    assert {a.name for a in cat.agents} == {"good", "deep"}


def test_a_folder_with_no_agent_is_an_error_saying_why(tmp_path):
    d = tmp_path / "notes"
    d.mkdir()
    (d / "README.md").write_text("# Just notes\n")
    with pytest.raises(CatalogError, match="none a valid agent"):
        load_catalog([d])


def test_fingerprint_follows_what_a_router_sees(tmp_path):
    a = catalog_of(tmp_path, {})
    (tmp_path / "agents" / "good.md").write_text(GOOD + "A different body the router never sees.\n")
    assert load_catalog([tmp_path / "agents"]).fingerprint == a.fingerprint
    (tmp_path / "agents" / "good.md").write_text(GOOD.replace("Fixes things", "Fixes bugs"))
    assert load_catalog([tmp_path / "agents"]).fingerprint != a.fingerprint


# --------------------------------------------------------------------------- bad input


def test_unclosed_quoted_turns_parse_in_linear_time(tmp_path):
    """500 KB of `user: "` turns that never close (33 s before the parser was made linear)."""
    import time

    from agenteval.cases.examples import extract_examples

    turns = '  user: "please look at this\n' * 18_000  # ~500 KB
    text = f"---\nname: slow\ndescription: |\n  Use it. <example>\n{turns}  </example>\n---\n"
    (tmp_path / "agents").mkdir()
    (tmp_path / "agents" / "slow.md").write_text(text)
    start = time.perf_counter()
    cat = load_catalog([tmp_path / "agents"])
    (example,) = extract_examples(cat.agents[0])
    elapsed = time.perf_counter() - start
    assert example.user is not None and "please look at this" in example.user
    assert elapsed < 2.0, f"{elapsed:.1f} s for 500 KB of unclosed turns"


BOMB = (
    "---\nname: bomb\ndescription: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"k{i}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))
    + "tools: *j\n---\nBody.\n"
)


def test_a_yaml_alias_bomb_is_refused_with_bounded_memory(tmp_path):
    """9 levels of 9 aliases each (9**10 leaves): 5.5 GB and a MemoryError before."""
    import tracemalloc

    from agenteval.pipeline.lint import lint_catalog

    assert len(BOMB) < 1200
    tracemalloc.start()
    try:
        cat = catalog_of(tmp_path, {"bomb.md": BOMB})
        report = lint_catalog(cat)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [a.name for a in cat.agents] == ["good"]
    assert "alias-bomb" in codes(cat)["bomb.md"]
    reading = cat.claude_code
    assert reading is not None and reading.names == ("good",)
    (bomb,) = [f for f in reading.files if f.path.name == "bomb.md"]
    assert (bomb.status, bomb.reason) == ("skipped", "alias-bomb")
    assert any(d.code == "alias-bomb" for d in report.diagnostics)
    assert peak < 50_000_000, f"peak {peak / 1e6:.0f} MB"


def test_a_few_aliases_are_fine(tmp_path):
    text = "---\nname: aliased\ndescription: &d Reads files.\nsummary: *d\n---\n"
    cat = catalog_of(tmp_path, {"aliased.md": text})
    assert cat.get("aliased") is not None
    assert cat.claude_code is not None and "aliased" in cat.claude_code.names


def test_a_repeated_key_keeps_its_last_value_as_claude_code_does():
    from agenteval.catalog.yaml12 import load_yaml12

    text = "name: first\ntools: [Read]\nname: second\nmeta:\n  k: 1\n  k: 2\n"
    assert load_yaml12(text) == {"name": "second", "tools": ["Read"], "meta": {"k": 2}}


DEEP = {
    "flow.md": "tools: " + "[" * 30_000 + "]" * 30_000,
    "block.md": "extra:\n" + "- " * 30_000 + "x",
}


@pytest.mark.parametrize("command", [["lint", "--agents", "agents"], ["run", "--limit", "3"]])
def test_yaml_nested_30_000_deep_is_refused_naming_the_file_never_a_crash(demo_project, command):
    """60 KB of nesting segfaulted ruamel's C parser (exit 139) in both commands."""
    import os
    import subprocess
    import sys

    for filename, value in DEEP.items():
        text = f"---\nname: {filename[:-3]}\ndescription: Nests too deep.\n{value}\n---\n"
        (demo_project / "agents" / filename).write_text(text)
    out = subprocess.run(
        [sys.executable, "-c", "from agenteval.cli import main; main()", *command],
        capture_output=True,
        text=True,
        cwd=demo_project,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")},
        timeout=300,
    )
    assert out.returncode == (1 if command[0] == "lint" else 0), out.stderr[-2000:]
    for filename in DEEP:
        (line,) = [ln for ln in out.stdout.splitlines() if f"{filename}:2: error" in ln]
        assert "nested more than" in line, line


def test_nesting_parses_up_to_max_depth_and_is_refused_beyond(tmp_path):
    from agenteval.catalog.yaml12 import MAX_DEPTH, load_yaml12

    inside = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # in the top-level mapping
    assert load_yaml12(f"name: ok\ntools: {inside}\n")["name"] == "ok"
    cat = catalog_of(
        tmp_path, {"deep.md": f"---\nname: deep\ndescription: x\ntools: [{inside}]\n---\n"}
    )
    assert [a.name for a in cat.agents] == ["good"]
    assert "yaml-too-deep" in codes(cat)["deep.md"]
    assert cat.claude_code is not None and cat.claude_code.names == ("good",)
    (deep,) = [f for f in cat.claude_code.files if f.path.name == "deep.md"]
    assert (deep.status, deep.reason) == ("skipped", "yaml-too-deep")


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("bell\x07ringer", "bell\\x07ringer"),
        ('"esc\\e[31mred"', "esc\\x1b[31mred"),
        ('"nul\\0byte"', "nul\\x00byte"),
    ],
)
def test_control_characters_in_names_are_diagnosed_and_escaped(tmp_path, raw, shown):
    from click.testing import CliRunner

    from agenteval.cli import main
    from agenteval.pipeline.lint import lint_catalog

    cat = catalog_of(tmp_path, {"odd.md": f"---\nname: {raw}\ndescription: Odd name.\n---\n"})
    report = lint_catalog(cat)
    flagged = [d for d in report.diagnostics if d.code == "control-chars"]
    assert [d.path.name for d in flagged] == ["odd.md"] and flagged[0].severity == "error"
    result = CliRunner().invoke(main, ["lint", "--agents", str(tmp_path / "agents")])
    assert result.exit_code == 1
    assert shown in result.output
    assert not any(c in result.output for c in "\x00\x07\x1b")
    as_json = CliRunner().invoke(main, ["lint", "--json", "--agents", str(tmp_path / "agents")])
    assert not any(c in as_json.output for c in "\x00\x07\x1b")


def test_symlink_loops_and_dangling_links_are_diagnosed(tmp_path):
    d = tmp_path / "agents"
    d.mkdir()
    (d / "good.md").write_text(GOOD)
    (d / "loop").symlink_to(d)
    (d / "ghost.md").symlink_to(tmp_path / "nowhere.md")
    cat = load_catalog([d])
    assert [a.name for a in cat.agents] == ["good"]
    found = {(x.path.name, x.code) for x in cat.diagnostics}
    assert ("loop", "symlink-loop") in found and ("ghost.md", "dangling-link") in found


def _dataset(path: Path, rows: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(rows)
    return path


def test_two_datasets_producing_one_case_id_is_an_error_naming_both(tmp_path):
    from agenteval.cases.datasets import load_dataset
    from agenteval.errors import DatasetError

    cat = catalog_of(tmp_path, {})
    one = _dataset(tmp_path / "a" / "cases.yaml", "- id: c1\n  prompt: fix it\n  expected: good\n")
    two = _dataset(tmp_path / "b" / "cases.yaml", "- id: c1\n  prompt: other\n  expected: good\n")
    with pytest.raises(DatasetError) as err:
        build_cases(cat, [load_dataset(one), load_dataset(two)])
    assert "cases/c1" in str(err.value)
    assert f"{one}:1" in str(err.value) and f"{two}:1" in str(err.value)


def test_a_dataset_id_equal_to_an_example_id_is_an_error_naming_both(tmp_path):
    from agenteval.cases.datasets import load_dataset
    from agenteval.errors import DatasetError

    cat = catalog_of(tmp_path, {})
    ds = _dataset(tmp_path / "good.yaml", "- id: ex1\n  prompt: hello\n  expected: good\n")
    with pytest.raises(DatasetError) as err:
        build_cases(cat, [load_dataset(ds)])
    assert "good/ex1" in str(err.value)
    assert "good.md" in str(err.value) and f"{ds}:1" in str(err.value)
