"""A warm rerun reads the response cache in one query, not one per trial; a corrupt cache costs
misses, never the run."""

from __future__ import annotations

import os
import secrets
import sqlite3
from pathlib import Path

import pytest
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


# --- a corrupt cache is moved aside, whatever the corruption and whenever it is met (issue 21 D.1)


def _filled(path: Path, n: int = 400) -> dict[str, dict[str, object]]:
    cache = ResponseCache(path)
    stored = {f"k{i}": {"agent": f"a{i}", "pad": "x" * 200} for i in range(n)}
    for key, value in stored.items():
        cache.put_json(key, value)
    cache.close()
    return stored


def _overwrite_pages(path: Path) -> None:
    """The file's last page overwritten, as a disk error would: the header and the first rows
    still read, so the file opens as a database."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = path.stat().st_size
    start = size - 4096
    with path.open("r+b") as fh:
        fh.seek(start)
        fh.write(bytes(range(256)) * ((size - start) // 256))
    with sqlite3.connect(path) as db:
        db.execute("SELECT key FROM decisions LIMIT 1").fetchall()  # it opens, as before
        with pytest.raises(sqlite3.DatabaseError):
            db.execute("SELECT count(*) FROM decisions WHERE value LIKE '%x%'").fetchall()
    db.close()


def test_a_cache_with_overwritten_pages_is_a_miss_moved_aside(tmp_path: Path):
    path = tmp_path / "cache.sqlite"
    stored = _filled(path)
    _overwrite_pages(path)
    cache = ResponseCache(path)
    assert cache.get_many(list(stored)) == {}
    (moved,) = tmp_path.glob("cache.sqlite.corrupt-*")
    (warning,) = cache.take_warnings()
    assert moved.name in warning and "corrupt" in warning
    cache.put_json("k1", {"agent": "b"})  # a fresh cache goes on working
    assert cache.get_many(["k1"]) == {"k1": {"agent": "b"}}
    assert cache.take_warnings() == ()
    cache.close()


def test_a_cache_corrupted_while_open_is_moved_aside_at_the_next_read(tmp_path: Path):
    path = tmp_path / "cache.sqlite"
    stored = _filled(path)
    cache = ResponseCache(path)
    _overwrite_pages(path)
    assert cache.get_many(list(stored)) == {}
    assert cache.get_json("k3") is None  # from the fresh cache
    assert len(list(tmp_path.glob("cache.sqlite.corrupt-*"))) == 1
    assert len(cache.take_warnings()) == 1
    cache.close()


@pytest.mark.parametrize(
    "value", ["{not json", "[1, 2, 3]", "null", b"\xff\xfe not UTF-8"], ids=repr
)
def test_an_unreadable_entry_is_a_miss_said_once(tmp_path: Path, value: str | bytes):
    path = tmp_path / "cache.sqlite"
    cache = ResponseCache(path)
    cache.put_json("good", {"agent": "a"})
    with sqlite3.connect(path) as db:
        for key in ("bad-1", "bad-2"):
            db.execute(
                "INSERT INTO decisions (key, value) VALUES (?, CAST(? AS TEXT))", (key, value)
            )
    db.close()
    assert cache.get_many(["good", "bad-1", "bad-2"]) == {"good": {"agent": "a"}}
    assert cache.get_json("bad-1") is None
    assert (cache.hits, cache.misses) == (1, 3)
    (warning,) = cache.take_warnings()
    assert "2 unreadable entries" in warning
    assert list(tmp_path.glob("cache.sqlite.corrupt-*")) == []  # one bad entry is not a bad file
    cache.put_json("bad-1", {"agent": "b"})  # answered afresh, stored over the bad entry
    assert cache.get_json("bad-1") == {"agent": "b"}
    cache.close()


def test_a_run_on_a_cache_of_unreadable_entries_goes_on_and_says_so(demo_project, stub):
    config = EvalConfig(name="demo", router={"backend": "anthropic"})
    first = run_config(config, limit=12)
    path = Path(os.environ["AGENTEVAL_CACHE_DIR"]) / "cache.sqlite"
    with sqlite3.connect(path) as db:  # a torn write's bytes
        db.execute("UPDATE decisions SET value = CAST(X'FFFE7B' AS TEXT)")
    db.close()
    second = run_config(config, limit=12)
    assert second.record.status == "complete" and first.record.status == "complete"
    assert stub.count_endpoint("messages") == 24  # none could be answered from the cache
    assert any("12 unreadable entries" in note for note in second.record.notes), second.record.notes
    third = run_config(config, limit=12)  # the second run stored its answers over them
    assert stub.count_endpoint("messages") == 24
    assert not any("response cache" in note for note in third.record.notes), third.record.notes


@pytest.mark.parametrize("entry", ["{}", '{"agent": 3, "usage": "x"}', '{"no": "such field"}'])
def test_an_entry_of_the_wrong_shape_is_a_miss_and_the_run_goes_on(demo_project, stub, entry):
    config = EvalConfig(name="demo", router={"backend": "anthropic"})
    run_config(config, limit=6)
    with sqlite3.connect(Path(os.environ["AGENTEVAL_CACHE_DIR"]) / "cache.sqlite") as db:
        db.execute("UPDATE decisions SET value = ?", (entry,))
    db.close()
    second = run_config(config, limit=6)
    assert second.record.status == "complete"
    assert stub.count_endpoint("messages") == 12  # routed again, not answered from the entry
    from agenteval.record.store import read_results

    assert not any(r.trial.error for r in read_results(second.run_dir))
