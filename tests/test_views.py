"""views.py: `Holdout`, and the catalog view each case is routed against.

Under kfold:K a case of fold i must be routed against the catalog without fold i's examples (and
with every other fold's), the folds' views must really differ, and the cases of one fold share
one view (one prompt-cache prefix). Checked on what a router is handed by the runner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from agenteval.cases import Case
from agenteval.cases.build import build_cases
from agenteval.cases.examples import extract_examples
from agenteval.catalog import Catalog, load_catalog
from agenteval.errors import ConfigError
from agenteval.execution.executor import Executor
from agenteval.execution.runner import RunPlan, run_plan
from agenteval.routing import Decision, RouteRequest
from agenteval.views import CatalogView, Holdout, build_views

DATASET_CASE = Case(
    id="routing/any",
    prompt="Set up CI for this repo.",
    expected=("devops-engineer",),
    origin="dataset",
    source="datasets/routing.yaml:1",
)


class Recorder:
    """A router that answers `none` and remembers the view each (case, trial) was shown."""

    name = "recorder"
    fingerprint = "recorder"

    def __init__(self) -> None:
        self.seen: dict[tuple[str, int], CatalogView] = {}

    def describe(self) -> Mapping[str, Any]:
        return {"backend": self.name}

    async def route(self, request: RouteRequest) -> Decision:
        self.seen[(request.case.id, request.trial)] = request.view
        return Decision(agent=None)

    async def aclose(self) -> None:
        pass


def routed_views(catalog: Catalog, holdout: Holdout) -> tuple[tuple[Case, ...], Recorder]:
    cases = (*build_cases(catalog).cases, DATASET_CASE)
    recorder = Recorder()
    plan = RunPlan(cases=cases, views=build_views(catalog, holdout, cases))
    asyncio.run(run_plan(recorder, plan, Executor(concurrency=4)))
    assert len(recorder.seen) == len(cases)
    return cases, recorder


def example_folds(catalog: Catalog, holdout: Holdout) -> dict[str, int | None]:
    """The raw text of every <example> block in the catalog, and the fold it belongs to."""
    folds = {}
    for agent in catalog.agents:
        for ex in extract_examples(agent):
            probe = Case(
                id="probe",
                prompt="",
                expected=(),
                origin="example",
                source="",
                agent=agent.name,
                example_index=ex.index,
            )
            folds[agent.description[ex.span[0] : ex.span[1]]] = holdout.fold_of(probe)
    return folds


@pytest.fixture
def catalog(demo_project: Path) -> Catalog:
    return load_catalog([demo_project / "agents"])


def test_parse():
    assert str(Holdout.parse("kfold:5")) == "kfold:5"
    assert Holdout.parse("kfold:5") == Holdout(k=5)
    assert str(Holdout.parse("none")) == "none" and str(Holdout.parse(" None ")) == "none"
    for bad in ("kfold:1", "folds", "kfold:x"):
        with pytest.raises(ConfigError):
            Holdout.parse(bad)


def test_a_case_of_fold_i_is_routed_without_fold_i_and_with_every_other_fold(catalog):
    holdout = Holdout.parse("kfold:3")
    cases, recorder = routed_views(catalog, holdout)
    folds = example_folds(catalog, holdout)
    assert set(folds.values()) == {0, 1, 2}  # the demo catalog fills every fold
    examples = [c for c in cases if c.origin == "example"]
    assert len(examples) == 40
    for case in examples:
        fold = holdout.fold_of(case)
        view = recorder.seen[(case.id, 0)]
        assert view.fold == fold is not None
        shown = "\n".join(a.description for a in view.agents)
        for text, its_fold in folds.items():
            if its_fold == fold:
                assert text not in shown, f"{case.id} (fold {fold}) was shown its fold's example"
            else:
                assert text in shown, f"{case.id} (fold {fold}) lost an example of fold {its_fold}"
    own = recorder.seen[(examples[0].id, 0)]
    assert examples[0].prompt[:40] not in "\n".join(a.description for a in own.agents)


def test_different_folds_see_different_catalogs_and_one_fold_shares_one_view(catalog):
    holdout = Holdout.parse("kfold:3")
    cases, recorder = routed_views(catalog, holdout)
    by_fold: dict[int | None, set[int]] = {}
    for case in cases:
        by_fold.setdefault(holdout.fold_of(case), set()).add(id(recorder.seen[(case.id, 0)]))
    assert set(by_fold) == {None, 0, 1, 2}
    assert all(len(ids) == 1 for ids in by_fold.values())  # one view (one prefix) per fold
    views = {fold: recorder.seen[(c.id, 0)] for c in cases for fold in [holdout.fold_of(c)]}
    fingerprints = {fold: view.fingerprint for fold, view in views.items()}
    assert len(set(fingerprints.values())) == 4, fingerprints
    for fold in (0, 1, 2):  # a fold view differs from the full catalog in the fold's agents only
        held = {c.agent for c in cases if c.origin == "example" and holdout.fold_of(c) == fold}
        changed = {
            a.name
            for a, full in zip(views[fold].agents, views[None].agents, strict=True)
            if a.description != full.description
        }
        assert held and held <= changed


def test_dataset_cases_and_no_holdout_see_the_whole_catalog(catalog):
    for holdout in (Holdout.parse("kfold:3"), Holdout.parse("none")):
        cases, recorder = routed_views(catalog, holdout)
        full = "\n".join(a.description for a in catalog.agents)
        seen = [recorder.seen[(DATASET_CASE.id, 0)]]
        if not holdout.k:
            seen = [recorder.seen[(c.id, 0)] for c in cases]
        for view in seen:
            assert view.fold is None
            assert "\n".join(a.description for a in view.agents) == full


def test_a_skill_case_is_routed_without_its_own_example_and_markup_stays_escaped():
    tiny = Path(__file__).parent / "fixtures" / "plugins" / "tinyplug"
    cat = load_catalog([], plugins=[tiny], version="2.1.332")
    (case,) = [c for c in build_cases(cat).cases if c.agent == "skill:tinyplug:deploy"]
    holdout = Holdout(k=2)
    views = build_views(cat, holdout, [case])
    own = {s.label: s.description for s in views.for_case(case).skills}
    other = next(v for fold, v in views.by_fold.items() if fold != holdout.fold_of(case))
    assert own["skill:tinyplug:deploy"] == "Deploys the app."
    assert {s.label: s.description for s in other.skills}["skill:tinyplug:deploy"] == (
        cat.skills[0].description
    )
    assert "&lt;example&gt;" in cat.skills[0].description


def test_a_view_lists_the_skills_past_the_lists_budget_by_name_only(tmp_path: Path) -> None:
    from agenteval.routing.profiles.listing import render_skills

    for i in range(200):
        folder = tmp_path / ".claude" / "skills" / f"s{i:07d}"
        folder.mkdir(parents=True)
        (folder / "SKILL.md").write_text(f"---\ndescription: {'x' * 200}\n---\n")
    (tmp_path / ".claude" / "agents").mkdir()
    catalog = load_catalog([tmp_path / ".claude" / "agents"])
    view = build_views(catalog, Holdout()).by_fold[None]
    assert [s.brief for s in view.skills] == [False] * 107 + [True] * 93
    assert all(s.description == "" for s in view.skills[107:])
    assert render_skills(view.skills).splitlines() == [s.line for s in catalog.skills]
