"""The response cache: a SQLite file of router decisions, so an unchanged rerun costs nothing.

Keyed by the router's fingerprint (backend, model, prompt version, options), a digest of the
rendered request and the trial index. Errors are never cached. The file holds decisions only:
no API key, no headers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenteval.text import redact

# values are read as bytes and decoded here, so one entry that is not UTF-8 is one miss, not an
# error that ends the query
_SELECT_ONE = "SELECT CAST(value AS BLOB) FROM decisions WHERE key = ?"
_SELECT_MANY = "SELECT key, CAST(value AS BLOB) FROM decisions WHERE key IN"
_INSERT = "INSERT OR REPLACE INTO decisions VALUES (?, ?, julianday('now'))"


def cache_key(fingerprint: str, request_key: str, trial: int) -> str:
    return hashlib.sha256(f"{fingerprint}\0{request_key}\0{trial}".encode()).hexdigest()


class ResponseCache:
    """Get and put decisions by key. Writes are committed at once (a killed run keeps them).

    A file that is not a readable SQLite database (a disk error, a half-copied file), found so
    when it opens or at any later read or write, is moved aside to
    ``cache.sqlite.corrupt-<time>`` and a fresh cache is started; an entry that is not a JSON
    object (or not UTF-8) is a miss, stored over when the answer comes. The cache only saves
    money, so it is never a reason to stop a run. ``moved_aside`` says where the file went and
    :meth:`take_warnings` what to tell the user.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.moved_aside: Path | None = None
        self._warnings: list[str] = []
        self._unreadable: set[str] = set()  # keys whose entry is not a JSON object
        self._unreadable_said = 0
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            self._db = self._start_afresh(exc)
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

    def _start_afresh(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        self.moved_aside = self._move_aside()
        self._warnings.append(
            f"the response cache was corrupt ({exc}): moved aside to {self.moved_aside}, "
            "and this run started a fresh one"
        )
        return self._open()

    def _recover(self, exc: sqlite3.DatabaseError) -> None:
        """After a read or write failed: a damaged file is moved aside for a fresh one; any
        other failure (a full disk, a lock) is said once and the call is a miss."""
        damaged = type(exc) is sqlite3.DatabaseError or getattr(exc, "sqlite_errorcode", None) in (
            getattr(sqlite3, "SQLITE_CORRUPT", 11),
            getattr(sqlite3, "SQLITE_NOTADB", 26),
        )
        if damaged:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = self._start_afresh(exc)
        elif not any(str(exc) in w for w in self._warnings):
            self._warnings.append(f"the response cache could not be used ({exc}); it was skipped")

    def take_warnings(self) -> tuple[str, ...]:
        """What went wrong with the cache since the last call, one line each, for the user."""
        if len(self._unreadable) > self._unreadable_said:
            self._warnings.append(
                f"the response cache had {len(self._unreadable) - self._unreadable_said} "
                "unreadable entries (not a JSON object): treated as misses and stored afresh"
            )
            self._unreadable_said = len(self._unreadable)
        taken, self._warnings = tuple(self._warnings), []
        return taken

    def _decoded(self, key: str, value: bytes) -> dict[str, Any] | None:
        try:
            data = json.loads(value.decode("utf-8"))
        except ValueError:  # not UTF-8, or not JSON
            data = None
        if not isinstance(data, dict):
            self._unreadable.add(key)
            return None
        return data

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
        try:
            row = self._db.execute(_SELECT_ONE, (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            row = None
        value = None if row is None else self._decoded(key, row[0])
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
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
        try:
            for start in range(0, len(unique), step):
                chunk = unique[start : start + step]
                marks = ",".join("?" * len(chunk))
                query = f"{_SELECT_MANY} ({marks})"  # only ? marks
                for key, value in self._db.execute(query, chunk).fetchall():
                    data = self._decoded(key, value)
                    if data is not None:
                        found[key] = data
        except sqlite3.DatabaseError as exc:
            self._recover(exc)
            found.clear()  # what a damaged file gave is not to be trusted
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
        """Store a JSON object (secrets redacted, as in every file a run writes); a cache that
        cannot take it is recovered as a read is, and the answer is not kept."""
        row = (key, redact(json.dumps(value)))
        try:
            self._db.execute(_INSERT, row)
        except sqlite3.DatabaseError as exc:
            self._recover(exc)

    def close(self) -> None:
        self._db.close()
