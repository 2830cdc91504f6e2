"""The offline router: TF-IDF similarity between the request and each agent's text.

It needs no key and no network, is deterministic, and gives a floor that a model router should
beat. Each agent's document is its name and description (with the examples the view keeps); the
request goes to the most similar agent, or to `none` when nothing is similar enough.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agenteval.errors import RouterError
from agenteval.routing import Decision, RouteRequest, validate_options
from agenteval.views import CatalogView

DEFAULT_THRESHOLD = 0.05


@dataclass
class _Index:
    names: list[str]
    vectorizer: Any
    matrix: Any
    by_term: Any = None  # the matrix transposed (terms x agents, CSR): one row per query word

    def scores(self, query: str) -> Any:
        """Cosine similarity of the query to every agent, as `linear_kernel` of the vectorizer's
        transform would give it (a test checks), without scikit-learn's per-call validation:
        at 10,000 agents that validation cost more than the arithmetic."""
        import numpy as np

        vocabulary, idf = self.vectorizer.vocabulary_, self.vectorizer.idf_
        counts = Counter(t for t in _prefixes(query) if t in vocabulary)
        terms = [vocabulary[t] for t in counts]
        weights = np.array([1.0 + math.log(c) for c in counts.values()]) * idf[terms]
        norm = math.sqrt(float(weights @ weights)) if terms else 0.0
        scores = np.zeros(len(self.names))
        if not norm:
            return scores
        indptr, indices, data = self.by_term.indptr, self.by_term.indices, self.by_term.data
        for term, weight in zip(terms, weights / norm, strict=True):
            start, end = indptr[term], indptr[term + 1]
            scores[indices[start:end]] += weight * data[start:end]
        return scores


class LexicalOptions(BaseModel):
    """The `router:` keys of the lexical router."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=DEFAULT_THRESHOLD, ge=0.0, lt=1.0)


class LexicalRouter:
    """TF-IDF nearest agent, with a similarity threshold below which the answer is `none`."""

    name = "lexical"
    Options = LexicalOptions

    def __init__(self, *, threshold: float = DEFAULT_THRESHOLD) -> None:
        if not 0.0 <= threshold < 1.0:
            raise RouterError(
                f"lexical threshold {threshold} is out of range",
                hint="set router.threshold between 0 and 1",
            )
        self.threshold = threshold
        self._indexes: dict[str, _Index] = {}

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> LexicalRouter:
        opts = validate_options(LexicalOptions, options, "lexical")
        return cls(threshold=opts.threshold)

    @property
    def fingerprint(self) -> str:
        spec = json.dumps({"backend": self.name, "threshold": self.threshold, "v": 2})
        return hashlib.sha256(spec.encode()).hexdigest()[:16]

    def describe(self) -> Mapping[str, Any]:
        return {"backend": self.name, "model": "tf-idf", "threshold": self.threshold}

    async def route(self, request: RouteRequest) -> Decision:
        start = time.perf_counter()
        index = self._index(request.view)
        query = request.case.prompt
        if index.matrix is None:
            return Decision(
                agent=None,
                rationale="no agent description has a usable word",
                latency_s=time.perf_counter() - start,
                cost_usd=0.0,
            )
        scores = index.scores(query)
        order = _top(scores, 3)
        top = [(index.names[i], float(scores[i])) for i in order]
        best, score = top[0]
        agent = best if score >= self.threshold else None
        rationale = ", ".join(f"{n} {s:.3f}" for n, s in top)
        if agent is None:
            rationale = f"best similarity {score:.3f} < threshold {self.threshold}: {rationale}"
        return Decision(
            agent=agent,
            raw=best if agent else "",
            rationale=rationale,
            latency_s=time.perf_counter() - start,
            cost_usd=0.0,
        )

    def _index(self, view: CatalogView) -> _Index:
        index = self._indexes.get(view.fingerprint)
        if index is None:
            from sklearn.feature_extraction.text import TfidfVectorizer

            docs = [agent_document(a.name, a.description) for a in view.agents]
            # Words cut to 6-letter prefixes (a crude, language-agnostic stemmer: "migrations"
            # and "migrate" meet), and words in over half the agents dropped as uninformative.
            # English stop words go too. On the laywill catalog (kfold:5) this routes 41% right,
            # against 37% for whole words and word bigrams.
            vectorizer = TfidfVectorizer(
                tokenizer=_prefixes,
                token_pattern=None,
                lowercase=False,
                sublinear_tf=True,
                max_df=0.5 if len(docs) >= 4 else 1.0,
            )
            try:
                matrix = vectorizer.fit_transform(docs)
            except ValueError:  # no usable word in any description: nothing can match
                matrix = None
            index = _Index(
                names=[a.name for a in view.agents],
                vectorizer=vectorizer,
                matrix=matrix,
                by_term=None if matrix is None else matrix.T.tocsr(),
            )
            self._indexes[view.fingerprint] = index
        return index

    async def aclose(self) -> None:
        self._indexes.clear()


_WORD = re.compile(r"[a-z0-9]+")


def _top(scores: Any, k: int) -> list[int]:
    """The k best agents, highest score first, ties to the later agent (as a stable sort
    reversed orders them); only the agents that share a word are sorted, not the catalog."""
    import numpy as np

    hit = np.flatnonzero(scores > 0)
    if hit.size > k:
        kth = np.partition(scores[hit], hit.size - k)[hit.size - k]
        hit = hit[scores[hit] >= kth]
    order = [int(i) for i in hit[np.lexsort((-hit, -scores[hit]))][:k]]
    for i in range(len(scores) - 1, -1, -1):  # fewer than k shared a word: the last zeros
        if len(order) >= k:
            break
        if scores[i] <= 0:
            order.append(i)
    return order


@cache
def _stop_words() -> frozenset[str]:
    # scikit-learn's English list, read from its own module file: importing scikit-learn takes
    # seconds, which `lint` (the overlap check) should not pay.
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("sklearn")
    origin = Path(spec.origin) if spec and spec.origin else None
    source = origin.parent / "feature_extraction" / "_stop_words.py" if origin else None
    if source is not None and source.is_file():
        words = importlib.util.spec_from_file_location("_agenteval_stop_words", source)
        if words is not None and words.loader is not None:
            module = importlib.util.module_from_spec(words)
            words.loader.exec_module(module)
            return frozenset(module.ENGLISH_STOP_WORDS)
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _prefixes(text: str) -> list[str]:
    stop = _stop_words()
    return [w[:6] for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in stop]


def agent_document(name: str, description: str) -> str:
    """The text the router indexes for one agent: its name (dashes as spaces) and description."""
    return f"{name.replace('-', ' ')} {description}"


@dataclass(frozen=True, kw_only=True)
class Overlap:
    """Two agents whose documents are near-duplicates by the router's TF-IDF similarity."""

    first: str
    second: str
    similarity: float
    shared_terms: tuple[str, ...]  # the word prefixes that weigh most in both


def tfidf_vectors(docs: list[str]) -> list[dict[str, float]]:
    """The router's TF-IDF vectors (sublinear tf, smoothed idf, l2 norm, max_df 0.5), computed
    without scikit-learn so that `lint` starts fast; a test checks them against the router's."""
    tokens = [_prefixes(d) for d in docs]
    n = len(docs)
    df = Counter(t for toks in tokens for t in set(toks))
    high = 0.5 * n if n >= 4 else float(n)
    vectors = []
    for toks in tokens:
        counts = Counter(t for t in toks if df[t] <= high)
        raw = {
            t: (1 + math.log(c)) * (math.log((1 + n) / (1 + df[t])) + 1) for t, c in counts.items()
        }
        norm = math.sqrt(sum(x * x for x in raw.values()))
        vectors.append({t: x / norm for t, x in raw.items()} if norm else {})
    return vectors


def near_duplicates(
    documents: Mapping[str, str], *, min_similarity: float = 0.5, terms: int = 6
) -> tuple[Overlap, ...]:
    """Pairs of agents whose documents are at least `min_similarity` alike, most alike first.

    Args:
        documents: agent name -> its document (see `agent_document`).
        min_similarity: the cosine similarity from which a pair is reported.
        terms: how many shared terms to name per pair.
    """
    names = list(documents)
    vectors = tfidf_vectors([documents[n] for n in names])
    import numpy as np  # a dense product: fast for hundreds of agents, no scipy import

    vocabulary = {t: k for k, t in enumerate(sorted({t for v in vectors for t in v}))}
    matrix = np.zeros((len(vectors), max(len(vocabulary), 1)), dtype=np.float32)
    for i, vec in enumerate(vectors):
        for t, w in vec.items():
            matrix[i, vocabulary[t]] = w
    similarity = np.triu(matrix @ matrix.T, k=1)
    rows, cols = np.nonzero(similarity >= min_similarity)
    scores = {(int(i), int(j)): float(similarity[i, j]) for i, j in zip(rows, cols, strict=True)}
    found = []
    for (i, j), score in scores.items():
        if score < min_similarity:
            continue
        a, b = vectors[i], vectors[j]
        products = {t: w * b[t] for t, w in a.items() if t in b}
        top = sorted(products, key=lambda t: (-products[t], t))[:terms]
        found.append(
            Overlap(
                first=names[i],
                second=names[j],
                similarity=round(score, 4),
                shared_terms=tuple(top),
            )
        )
    return tuple(sorted(found, key=lambda o: (-o.similarity, o.first, o.second)))
