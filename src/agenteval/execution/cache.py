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

    def put_json(self, key: str, value: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO decisions VALUES (?, ?, julianday('now'))",
            (key, json.dumps(value)),
        )

    def close(self) -> None:
        self._db.close()
