"""The response cache: a SQLite file of router decisions, so an unchanged rerun costs nothing.

Keyed by the router's fingerprint (backend, model, prompt version, options), a digest of the
rendered request and the trial index. Errors are never cached. The file holds decisions only:
no API key, no headers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_DIR = ".agenteval"


def default_cache_path() -> Path:
    """`$AGENTEVAL_CACHE_DIR/cache.sqlite`, else `./.agenteval/cache.sqlite`."""
    return Path(os.environ.get("AGENTEVAL_CACHE_DIR") or DEFAULT_DIR) / "cache.sqlite"


def cache_key(fingerprint: str, request_key: str, trial: int) -> str:
    return hashlib.sha256(f"{fingerprint}\0{request_key}\0{trial}".encode()).hexdigest()


class ResponseCache:
    """Get and put decisions by key. Writes are committed at once (a killed run keeps them).

    A file that is not a readable SQLite database (a disk error, a half-copied file) is moved
    aside to ``cache.sqlite.corrupt-<time>`` and a fresh cache is started: the cache only saves
    money, so it is never a reason to stop a run. ``moved_aside`` says where it went, for the
    caller to warn about.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.moved_aside: Path | None = None
        try:
            self._db = self._open()
        except sqlite3.DatabaseError:
            self.moved_aside = self._move_aside()
            self._db = self._open()
        self.hits = 0
        self.misses = 0

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS decisions (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
                "created REAL DEFAULT (julianday('now')))"
            )
            db.execute("SELECT key FROM decisions LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self) -> Path:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        os.replace(self.path, target)
        for suffix in ("-wal", "-shm"):  # the journal belongs to the broken file, not the new one
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.replace(side, target.with_name(target.name + suffix))
        return target

    def get_json(self, key: str) -> dict[str, Any] | None:
        """The JSON object stored under a key (decisions, agent outputs, judge grades), or None."""
        row = self._db.execute("SELECT value FROM decisions WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        value: dict[str, Any] = json.loads(row[0])  # put_json stores only objects
        return value

    def get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The JSON objects stored under any of `keys`, by key; absent keys are left out.

        One query for up to SQLite's variable limit (32,766 keys on current builds), so a warm
        rerun of a thousand trials costs one round trip instead of a thousand. Hits and misses
        are counted per key asked for, as `get_json` counts them.
        """
        wanted = list(keys)
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(wanted))
        step = max(1, self._variables)
        for start in range(0, len(unique), step):
            chunk = unique[start : start + step]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, value FROM decisions WHERE key IN ({marks})"  # only ? marks
            for key, value in self._db.execute(query, chunk):
                found[key] = json.loads(value)  # put_json stores only objects
        hits = sum(key in found for key in wanted)
        self.hits += hits
        self.misses += len(wanted) - hits
        return found

    @property
    def _variables(self) -> int:
        # how many ? one statement may hold; getlimit is Python 3.11+, 999 is SQLite's old floor
        getlimit = getattr(self._db, "getlimit", None)
        which = getattr(sqlite3, "SQLITE_LIMIT_VARIABLE_NUMBER", None)
        if getlimit is None or which is None:
            return 999
        limit: int = getlimit(which)
        return limit

    def put_json(self, key: str, value: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO decisions VALUES (?, ?, julianday('now'))",
            (key, json.dumps(value)),
        )

    def close(self) -> None:
        self._db.close()
