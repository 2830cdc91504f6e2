"""Jinja environments whose compiled templates are kept between processes.

Compiling the report template takes longer than rendering it: every `agenteval report`, every
fully cached rerun and every run with the approximate routing prompt would pay it on each start.
Jinja's own file cache keeps the compiled code in the user's private temporary folder (created
0700 and checked to be theirs), keyed by the template's name and checked against a hash of its
source and the Python version, so an edited template or another interpreter never loads stale
code. A cache that cannot be read or written is skipped; it never fails a render. What it buys
`agenteval report` and a run: bench/devices.py.
"""

from __future__ import annotations

import contextlib
from typing import Any

from jinja2 import BaseLoader, Environment
from jinja2.bccache import Bucket, BytecodeCache, FileSystemBytecodeCache


class _QuietCache(FileSystemBytecodeCache):
    """Jinja's file cache, with an unreadable or unwritable entry treated as a miss."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a torn or foreign file: compile again, as with no cache
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):  # a read-only or full disk: the next process compiles
            super().dump_bytecode(bucket)


def _cache() -> BytecodeCache | None:
    try:
        return _QuietCache(pattern="agenteval-%s.cache")
    except (OSError, RuntimeError):  # no private temporary folder to be had
        return None


def environment(loader: BaseLoader, **options: Any) -> Environment:
    """A jinja Environment that reuses compiled templates across processes (see the module)."""
    return Environment(loader=loader, bytecode_cache=_cache(), **options)
