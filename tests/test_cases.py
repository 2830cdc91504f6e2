"""Datasets, case building and case selection."""
# ruff: noqa: E501

from __future__ import annotations

from pathlib import Path

import pytest

from agenteval.cases import NONE_LABEL
from agenteval.cases.build import build_cases, select_cases
from agenteval.cases.datasets import load_dataset
from agenteval.catalog import load_catalog
from agenteval.errors import DatasetError

AGENT = """---
name: {name}
description: "Use for {topic}.\\n<example>\\nContext: x\\nuser: \\"please {topic}\\"\\nassistant: \\"I'll use the {name} agent\\"\\n</example>"
---
Body.
"""


@pytest.fixture
def catalog(tmp_path: Path):
    d = tmp_path / "agents"
    d.mkdir()
    for name, topic in [("db-expert", "tune queries"), ("api-writer", "document the API")]:
        (d / f"{name}.md").write_text(AGENT.format(name=name, topic=topic))
    return load_catalog([d])


def write(tmp_path: Path, text: str, name: str = "ds.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_dataset_expected_forms(tmp_path, catalog):
    ds = load_dataset(
        write(
            tmp_path,
            """
cases:
  - id: one
    prompt: tune my slow query
    expected: db-expert
  - id: many
    prompt: document and tune
    expected: [db-expert, api-writer]
    tags: [overlap]
  - id: nobody
    prompt: what's 2+2
    expected: none
""",
        )
    )
    cases = build_cases(catalog, [ds]).cases
    by_id = {c.id: c for c in cases if c.origin == "dataset"}
    assert by_id["ds/one"].expected == ("db-expert",)
    assert by_id["ds/many"].expected == ("db-expert", "api-writer")
    assert by_id["ds/many"].tags == ("overlap",)
    assert by_id["ds/nobody"].expected == (NONE_LABEL,)
    assert by_id["ds/one"].source.endswith("ds.yaml:3")


def test_jsonl_dataset(tmp_path, catalog):
    ds = load_dataset(
        write(
            tmp_path,
            '{"id": "a", "prompt": "tune", "expected": "db-expert"}\n\n'
            '{"prompt": "hello", "expected": "none"}\n',
            "rows.jsonl",
        )
    )
    assert [c.source.rsplit(":", 1)[1] for c in ds.cases] == ["1", "3"]
    assert ds.cases[1].id.startswith("rows/")  # stable id from the prompt when none is given


def test_unknown_agent_names_file_line_and_suggestion(tmp_path, catalog):
    ds = load_dataset(
        write(tmp_path, "cases:\n  - id: a\n    prompt: x\n    expected: db-expret\n")
    )
    with pytest.raises(DatasetError) as err:
        build_cases(catalog, [ds])
    text = str(err.value)
    assert "ds.yaml:2" in text and "db-expret" in text and "db-expert" in text


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("cases:\n  - id: a\n    prompt: x\n", 2, "expected"),
        ("cases:\n  - id: a\n    prompt: x\n    expected: none\n    colour: red\n", 2, "colour"),
        (
            "cases:\n  - id: a\n    prompt: x\n    expected: none\n  - id: a\n    prompt: y\n"
            "    expected: none\n",
            5,
            "duplicate",
        ),
        ("cases:\n  - id: a\n    prompt: [unclosed\n", 4, "YAML"),
        ("nothing: here\n", 1, "cases"),
        ("cases:\n  - id: a\n    prompt: x\n    expected: []\n", 2, "expected"),
    ],
)
def test_malformed_dataset_errors(tmp_path, text, line, words):
    with pytest.raises(DatasetError) as err:
        load_dataset(write(tmp_path, text))
    assert f"ds.yaml:{line}:" in str(err.value)
    assert words in str(err.value)
    assert err.value.hint


def test_none_mixed_with_agents_is_an_error(tmp_path, catalog):
    ds = load_dataset(write(tmp_path, "cases:\n  - prompt: x\n    expected: [none, db-expert]\n"))
    with pytest.raises(DatasetError, match="mixes"):
        build_cases(catalog, [ds])


def test_select_cases(catalog, tmp_path):
    ds = load_dataset(
        write(
            tmp_path,
            "cases:\n"
            + "".join(f"  - id: c{i}\n    prompt: p{i}\n    expected: none\n" for i in range(20)),
        )
    )
    cases = build_cases(catalog, [ds]).cases
    assert len(select_cases(cases, limit=3)) == 3
    only = select_cases(cases, only=["db-expert"])
    assert [c.id for c in only] == ["db-expert/ex1"]
    a = select_cases(cases, sample=5, seed=1)
    assert len(a) == 5 and a == select_cases(cases, sample=5, seed=1)
    assert a != select_cases(cases, sample=5, seed=2)


def test_prompt_is_only_the_user_turn(catalog):
    for case in build_cases(catalog).cases:
        assert "I'll use" not in case.prompt
        assert case.prompt.startswith("please ")


# -- plugin agents and skills as expected targets --------------------------------------------

PLUGIN_FIXTURES = Path(__file__).parent / "fixtures" / "plugins"
SKILL_PROJECT = Path(__file__).parent / "fixtures" / "skills" / "project" / ".claude" / "agents"


@pytest.fixture
def plugin_catalog():
    return load_catalog([SKILL_PROJECT], plugins=[PLUGIN_FIXTURES / "tinyplug"], version="2.1.332")


def test_a_skill_example_becomes_a_case_expecting_that_skill(plugin_catalog):
    cases = {c.id: c for c in build_cases(plugin_catalog).cases}
    case = cases["skill:tinyplug:deploy/ex1"]
    assert (case.prompt, tuple(case.expected), case.agent) == (
        "ship version 2 to production",
        ("skill:tinyplug:deploy",),
        "skill:tinyplug:deploy",
    )
    assert tuple(cases["helper/ex1"].expected) == ("helper",)  # the agent, not its namesake skill


@pytest.mark.parametrize(
    "written, label",
    [
        ("tinyplug:sub:y-nested", "tinyplug:sub:y-nested"),
        ("y-nested", "tinyplug:sub:y-nested"),
        ("skill:helper", "skill:helper"),
        ("skill:deploy", "skill:tinyplug:deploy"),
        ("helper", "helper"),
    ],
)
def test_a_dataset_names_a_target_by_full_or_unambiguous_short_name(
    tmp_path, plugin_catalog, written, label
):
    ds = load_dataset(
        write(tmp_path, f"cases:\n  - id: a\n    prompt: x\n    expected: {written}\n")
    )
    (case,) = [c for c in build_cases(plugin_catalog, [ds]).cases if c.origin == "dataset"]
    assert tuple(case.expected) == (label,)


def test_an_ambiguous_short_name_is_an_error_naming_the_candidates(tmp_path, plugin_catalog):
    ds = load_dataset(write(tmp_path, "cases:\n  - id: a\n    prompt: x\n    expected: alpha\n"))
    with pytest.raises(DatasetError) as err:
        build_cases(plugin_catalog, [ds])
    text = str(err.value)
    assert "ds.yaml:2" in text and "tinyplug:alpha, tinyplug:sub:alpha" in text
