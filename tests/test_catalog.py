"""Loader robustness beyond FORMATS.md: odd YAML values and broken files never crash a load."""
# ruff: noqa: E501

from __future__ import annotations

from pathlib import Path

import pytest

from agenteval.cases import build_cases
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

    from agenteval.cases import extract_examples

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
