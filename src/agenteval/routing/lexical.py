"""The offline router: TF-IDF similarity between the request and each agent's text.

It needs no key and no network, is deterministic, and gives a floor that a model router should
beat. Each agent's document is its name and description (with the examples the view keeps); the
request goes to the most similar agent, or to `none` when nothing is similar enough.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
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
        from sklearn.metrics.pairwise import linear_kernel

        query = request.case.prompt
        if index.matrix is None:
            return Decision(
                agent=None,
                rationale="no agent description has a usable word",
                latency_s=time.perf_counter() - start,
                cost_usd=0.0,
            )
        scores = linear_kernel(index.vectorizer.transform([query]), index.matrix)[0]
        order = scores.argsort()[::-1][:3]
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

            docs = [f"{a.name.replace('-', ' ')} {a.description}" for a in view.agents]
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
                names=[a.name for a in view.agents], vectorizer=vectorizer, matrix=matrix
            )
            self._indexes[view.fingerprint] = index
        return index

    async def aclose(self) -> None:
        self._indexes.clear()


_WORD = re.compile(r"[a-z0-9]+")


@cache
def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _prefixes(text: str) -> list[str]:
    stop = _stop_words()
    return [w[:6] for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in stop]
