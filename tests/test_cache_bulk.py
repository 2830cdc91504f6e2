"""A warm rerun reads the response cache in one query, not one per trial."""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

from conftest import run_config

from agenteval.config import EvalConfig
from agenteval.execution import cache as cache_module
from agenteval.execution.cache import ResponseCache

KEY = "sk-ant-test-" + secrets.token_hex(8)


def test_get_many_answers_each_stored_key_and_counts_hits_and_misses(tmp_path: Path):
    cache = ResponseCache(tmp_path / "cache.sqlite")
    stored = {f"k{i}": {"agent": f"a{i}", "n": i} for i in range(2500)}  # above SQLite's 999
    for key, value in stored.items():
        cache.put_json(key, value)
    wanted = [*stored, "absent-1", "absent-2", "k7"]  # a repeat is one hit, as get_json twice
    found = cache.get_many(wanted)
    assert found == stored
    assert (cache.hits, cache.misses) == (2501, 2)
    assert cache.get_many([]) == {}
    cache.close()


def test_a_warm_rerun_asks_the_cache_once(demo_project, stub, monkeypatch):
    queries: list[str] = []
    opened = cache_module.ResponseCache._open

    def traced(self: ResponseCache) -> sqlite3.Connection:
        db = opened(self)
        db.set_trace_callback(queries.append)
        return db

    monkeypatch.setattr(cache_module.ResponseCache, "_open", traced)
    config = EvalConfig(name="demo", router={"backend": "anthropic"})
    first = run_config(config, limit=12)
    assert stub.count_endpoint("messages") == 12
    queries.clear()
    second = run_config(config, limit=12)
    assert stub.count_endpoint("messages") == 12  # all 12 answered from the cache
    assert second.record.status == "complete" and first.record.status == "complete"
    lookups = [q for q in queries if q.lstrip().upper().startswith("SELECT") and "key" in q]
    lookups = [q for q in lookups if "LIMIT 1" not in q]  # the health probe when the file opens
    assert len(lookups) == 1, lookups
