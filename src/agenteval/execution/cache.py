"""The response cache: a SQLite file of router decisions, so an unchanged rerun costs nothing.

Keyed by the router's fingerprint (backend, model, prompt version, options), a digest of the
rendered request and the trial index. Errors are never cached. The file holds decisions only:
no API key, no headers.
"""

from __future__ import annotations

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
    """Get and put decisions by key. Writes are committed at once (a killed run keeps them)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS decisions (key TEXT PRIMARY KEY, value TEXT NOT NULL, "
            "created REAL DEFAULT (julianday('now')))"
        )
        self.hits = 0
        self.misses = 0

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
