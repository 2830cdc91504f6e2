"""Generated cases as a dataset file a person reviews: YAML that reads well, and a review page.

The file is an ordinary dataset (`agenteval cases` and `run` take it with `--dataset`); each case
carries `provenance` and `review: pending`. A reviewer sets `review: accepted` or `rejected` in
the file, or uses the review page, which exports the accepted cases as a new file. Rejected cases
are left out of runs and counted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from agenteval.improve.generate import Generation, relative

HEADER = """\
# Cases written by `agenteval generate` with {model}: review them before you trust them.
# Each case says where it came from (`provenance`) and its `review` state: set it to
# `accepted` or `rejected` (rejected cases are left out of runs), or open {review} and export.
# kind: target (the agent should take it), near-miss (it belongs to a neighbour), none (no agent).
"""


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Multi-line requests as `|` blocks, so the file reads like the text it holds."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not value.endswith((" ", "\t")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _short_list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = all(isinstance(v, str) and "\n" not in v for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(list, _short_list)


def dataset_rows(generation: Generation, root: Path) -> list[dict[str, Any]]:
    """The dataset rows of a generation, file paths relative to `root`."""
    return [
        {
            "id": c.id,
            "prompt": c.prompt,
            "expected": c.expected,
            "tags": ["generated", c.kind],
            "provenance": {
                "generated_by": c.model,
                "kind": c.kind,
                "agent": c.agent,
                "file": relative(c.file, root),
                "sha256": c.sha256,
            },
            "review": "pending",
        }
        for c in generation.cases
    ]


def dataset_yaml(generation: Generation, root: Path, review_page: str) -> str:
    """The dataset file's text."""
    body: str = yaml.dump(
        {"cases": dataset_rows(generation, root)},
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return HEADER.format(model=generation.model, review=review_page) + body


def review_html(generation: Generation, root: Path, name: str) -> str:
    """A page listing every case with accept / reject, exporting the accepted ones as YAML.

    The cases travel as JSON inside a `<script type="application/json">` block (with `<`
    escaped), and the page builds its rows with `textContent`: no case text is ever HTML.
    """
    from agenteval.reports.pages import render_review

    rows = dataset_rows(generation, root)
    data = json.dumps({"name": name, "model": generation.model, "cases": rows})
    return render_review(data.replace("<", "\\u003c").replace(">", "\\u003e"), name)
