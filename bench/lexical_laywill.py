"""How long `agenteval run --router lexical` takes on the laywill catalog (213 agents, 639 cases,
kfold:5), and its peak memory, beside a minimal TF-IDF over the same texts.

The floor is a pure-Python process that reads the same agent documents (per fold) and case
prompts from a JSON file prepared before timing, builds one TF-IDF index per fold and picks each
case's most similar agent: the least a process doing this job could cost here, now.
Goal: < 1.5 s wall and < 150 MB, whole process (median of N).
Usage: python bench/lexical_laywill.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import shutil
import textwrap
from pathlib import Path

from _table import AGENTEVAL, LAYWILL, PYTHON, Row, empty_dir, measure, print_table

MINIMAL_TFIDF = textwrap.dedent(
    """
    import json, math, re, sys
    from collections import Counter
    word = re.compile(r"[a-z0-9]+")
    folds = json.load(open(sys.argv[1], encoding="utf-8"))
    picks = 0
    for fold in folds:
        docs = [Counter(word.findall(d.lower())) for d in fold["docs"]]
        df = Counter(t for d in docs for t in d)
        n = len(docs)
        idf = {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items() if c <= n / 2}
        postings = {}
        for i, d in enumerate(docs):
            v = {t: (1 + math.log(c)) * idf[t] for t, c in d.items() if t in idf}
            norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
            for t, x in v.items():
                postings.setdefault(t, []).append((i, x / norm))
        for q in fold["queries"]:
            scores = [0.0] * n
            for t, c in Counter(word.findall(q.lower())).items():
                for i, x in postings.get(t, ()):  # words in over half the agents: dropped
                    scores[i] += (1 + math.log(c)) * idf[t] * x
            picks += max(range(n), key=scores.__getitem__) >= 0
    print(picks)
    """
)


def _texts(path: Path) -> None:
    """The agent documents of each fold's view and the prompts routed against it (untimed)."""
    from agenteval.pipeline.inputs import load_inputs
    from agenteval.routing.lexical import agent_document
    from agenteval.views import Holdout, build_views

    loaded = load_inputs([LAYWILL])
    cases = loaded.case_set.cases
    views = build_views(loaded.catalog, Holdout.parse("kfold:5"), cases)
    folds: dict[str, dict[str, list[str]]] = {}
    for case in cases:
        view = views.for_case(case)
        fold = folds.setdefault(
            view.fingerprint,
            {"docs": [agent_document(a.name, a.description) for a in view.agents], "queries": []},
        )
        fold["queries"].append(case.prompt)
    path.write_text(json.dumps(list(folds.values())), encoding="utf-8")


def rows(runs: int) -> list[Row]:
    cwd = empty_dir()
    _texts(cwd / "texts.json")
    (cwd / "floor.py").write_text(MINIMAL_TFIDF, encoding="utf-8")
    floor = measure([PYTHON, "floor.py", "texts.json"], runs, cwd=cwd)
    out = cwd / "out"
    cmd = [
        AGENTEVAL,
        "run",
        "--agents",
        str(LAYWILL),
        "--router",
        "lexical",
        "--out",
        str(out),
        "--plain",
    ]
    run = measure(cmd, runs, cwd=cwd, before=lambda: shutil.rmtree(out, ignore_errors=True))
    is_floor = "minimal pure-Python TF-IDF, same texts"
    return [
        Row(
            what="lexical run, laywill (639 cases, kfold:5)",
            figure=run.wall,
            floor=floor.wall,
            unit="s",
            floor_is=is_floor,
            goal="< 1.5 s",
        ),
        Row(
            what="lexical run, laywill: peak memory",
            figure=run.peak_mb,
            floor=floor.peak_mb,
            unit="MB",
            floor_is=is_floor,
            goal="< 150 MB",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print_table(rows(args.runs), f"lexical run, median of {args.runs}")


if __name__ == "__main__":
    main()
