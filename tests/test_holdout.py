"""Holdout: a case never sees its own example under kfold."""

from __future__ import annotations

import pytest

from agenteval.cases import build_cases
from agenteval.catalog import load_catalog
from agenteval.errors import ConfigError
from agenteval.views import Holdout, build_views


def test_parse():
    assert str(Holdout.parse("kfold:5")) == "kfold:5"
    assert str(Holdout.parse("none")) == "none"
    for bad in ("kfold:1", "folds", "kfold:x"):
        with pytest.raises(ConfigError):
            Holdout.parse(bad)


def test_kfold_hides_the_example_under_test(demo_project):
    catalog = load_catalog([demo_project / "agents"])
    cases = build_cases(catalog).cases
    views = build_views(catalog, Holdout.parse("kfold:3"), cases)
    assert len(views.by_fold) == 4  # full + 3 folds
    for case in cases:
        view = views.for_case(case)
        own = next(a for a in view.agents if a.name == case.agent)
        assert case.prompt not in own.description
        # the other examples of the agent stay visible (3+ examples over 3 folds)
        full = next(a for a in views.by_fold[None].agents if a.name == case.agent)
        assert case.prompt in full.description or case.prompt[:30] in full.description


def test_same_fold_shares_one_view(demo_project):
    catalog = load_catalog([demo_project / "agents"])
    cases = build_cases(catalog).cases
    views = build_views(catalog, Holdout.parse("kfold:5"), cases)
    fingerprints = {views.for_case(c).fingerprint for c in cases}
    assert len(fingerprints) <= 5
    assert Holdout.parse("kfold:5").fold_of(cases[0]) == Holdout.parse("kfold:5").fold_of(cases[0])


def test_no_holdout_sees_everything(demo_project):
    catalog = load_catalog([demo_project / "agents"])
    cases = build_cases(catalog).cases
    views = build_views(catalog, Holdout.parse("none"), cases)
    assert set(views.by_fold) == {None}
