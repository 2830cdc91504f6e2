"""The offline router: deterministic, `none` below its threshold, never crashing on odd catalogs."""

from __future__ import annotations

import asyncio
import sys

import pytest

from agenteval.cases import Case
from agenteval.errors import RouterError
from agenteval.routing import RouteRequest, make_router
from agenteval.views import AgentView, CatalogView

VIEW = CatalogView(
    fold=None,
    agents=(
        AgentView(
            name="db-tuner",
            description="Tune slow SQL queries, add indexes, read "
            "EXPLAIN plans for Postgres migrations",
            tools_text="All tools",
        ),
        AgentView(
            name="css-fixer",
            description="Fix CSS layout bugs, flexbox and grid, responsive styles",
            tools_text="All tools",
        ),
        AgentView(
            name="doc-writer",
            description="Write README files and user guides",
            tools_text="All tools",
        ),
        AgentView(
            name="test-author",
            description="Write pytest unit tests and fixtures",
            tools_text="All tools",
        ),
    ),
)


def route(prompt: str, view: CatalogView = VIEW, **options: float):
    router = make_router("lexical", options)
    case = Case(id="x", prompt=prompt, expected=("none",), origin="dataset", source="-")
    return asyncio.run(router.route(RouteRequest(case=case, view=view)))


def test_routes_to_the_most_similar_agent():
    assert route("my postgres query is slow, which index should I add?").agent == "db-tuner"
    assert route("the grid layout breaks on mobile").agent == "css-fixer"


def test_prefixes_match_word_forms():
    assert route("migrating tables").agent == "db-tuner"  # "migrations" in the description


def test_nothing_similar_is_none_with_the_reason():
    decision = route("what's a good name for a cat?")
    assert decision.agent is None
    assert "threshold" in decision.rationale


def test_deterministic():
    assert route("fix the flexbox").rationale == route("fix the flexbox").rationale


def test_threshold_validated():
    with pytest.raises(RouterError):
        make_router("lexical", {"threshold": 1.5})


def test_catalog_with_no_words_routes_none():
    view = CatalogView(fold=None, agents=(AgentView(name="x", description="!", tools_text=""),))
    assert route("anything", view).agent is None


def test_unknown_backend_is_a_clear_error():
    with pytest.raises(RouterError, match="unknown router"):
        make_router("gpt", {})


def test_fingerprint_changes_with_threshold():
    assert (
        make_router("lexical", {"threshold": 0.1}).fingerprint
        != make_router("lexical", {"threshold": 0.2}).fingerprint
    )


def test_fast_scores_equal_scikit_learns_transform_and_linear_kernel():
    import random

    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    from agenteval.routing.lexical import LexicalRouter, _prefixes, agent_document

    rnd = random.Random(5)
    words = [f"w{i}x{'y' * (i % 4)}" for i in range(60)] + ["the", "migrations", "migrate"]
    agents = tuple(
        AgentView(name=f"a{i}", description=" ".join(rnd.choices(words, k=12)), tools_text="")
        for i in range(25)
    )
    router = LexicalRouter()
    index = router._index(CatalogView(fold=None, agents=agents))
    assert index is not None
    # the router's documented settings, in scikit-learn: its scores are the reference
    vectorizer = TfidfVectorizer(
        tokenizer=_prefixes, token_pattern=None, lowercase=False, sublinear_tf=True, max_df=0.5
    )
    matrix = vectorizer.fit_transform([agent_document(a.name, a.description) for a in agents])
    queries = [" ".join(rnd.choices(words, k=rnd.randint(0, 8))) for _ in range(50)]
    for query in [*queries, "", "nothing known here", "migrate migrate migrations"]:
        want = linear_kernel(vectorizer.transform([query]), matrix)[0]
        assert index.scores(query).tobytes() == want.tobytes()  # the same bits, not just close


def test_top_agents_are_a_stable_sort_reversed():
    import numpy as np

    from agenteval.routing.lexical import _top

    rnd = np.random.default_rng(2)
    for _ in range(300):
        n = int(rnd.integers(1, 40))
        scores = rnd.choice([0.0, 0.0, 0.1, 0.2, 0.5, 0.7], size=n)
        want = np.argsort(scores, kind="stable")[::-1][:3].tolist()
        assert _top(scores, 3) == want


def test_stop_words_file_is_scikit_learns_public_list():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from agenteval.routing.lexical import _stop_words

    assert _stop_words() == frozenset(ENGLISH_STOP_WORDS)


def test_stop_words_are_read_where_scikit_learn_is_not_installed(monkeypatch):
    from agenteval.routing import lexical

    for name in [m for m in sys.modules if m.split(".")[0] == "sklearn"] + ["sklearn"]:
        monkeypatch.setitem(sys.modules, name, None)  # importing any of it now fails
    lexical._stop_words.cache_clear()
    try:
        assert "the" in lexical._stop_words() and "migrate" not in lexical._stop_words()
    finally:
        lexical._stop_words.cache_clear()


SKILLED = CatalogView(
    fold=None,
    agents=VIEW.agents,
    skills=(
        AgentView(
            name="release-notes",
            description="Draft release notes and changelog entries from merged pull requests",
            tools_text="",
            kind="skill",
        ),
        AgentView(name="db-tuner", description="Vacuum schedules", tools_text="", kind="skill"),
    ),
)


def test_skills_are_ranked_beside_agents_and_picked_by_their_label():
    assert route("my postgres query is slow, which index should I add?", SKILLED).agent == (
        "db-tuner"
    )
    assert route("write the changelog and release notes for v2", SKILLED).agent == (
        "skill:release-notes"
    )


def test_a_skill_pick_is_right_only_when_the_skill_was_expected():
    from agenteval.execution.trials import label_of
    from agenteval.routing import Decision

    pick = Decision(agent="skill:db-tuner")
    assert label_of(pick, SKILLED.names, {"db-tuner"}) == "skill:db-tuner"
    assert label_of(pick, SKILLED.names, {"skill:db-tuner"}) == "skill:db-tuner"
    assert label_of(Decision(agent="db-tuner"), SKILLED.names, {"skill:db-tuner"}) == "db-tuner"
