"""Migrations of summary.json from older schema versions, one version step each.

Each takes the JSON document of version N and returns that of N + 1; `schema.parse_record`
applies them in turn before validating, so a run folder written by any earlier agenteval loads.
Never edit a migration once released: add the next one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    """v2 types the record; `settings`, `stop` and the status ``failed`` may be missing in v1.

    The first v1 writers recorded no settings and no stop reason (the last ones did: they are
    kept), and saved a run "complete" although every trial errored: it becomes ``failed``, so
    that it is never chosen as a baseline. Old v1 writers left `gates` and `notes` out or null.
    """
    out = {"settings": None, "stop": None, **data, "schema_version": 2}
    card = data.get("scorecard")
    card = card if isinstance(card, dict) else {}
    trials = int(card.get("trials") or 0)
    if data.get("status") == "complete" and trials and int(card.get("scored", 1)) == 0:
        out["status"] = "failed"  # v1 had no word for it, and chose such runs as baselines
    for key in ("gates", "notes"):
        out[key] = out.get(key) or []
    out["router"] = out.get("router") or {}
    return out


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    """v3 types `settings` and drops the copies of them: the "config view" and `selection`.

    A run whose settings are unknown (recorded by v1) keeps its `config` and `selection`, the
    only source of its settings. Settings recorded before the catalog reading was one routed
    what the authors meant (``recovered``).
    """
    out = {**data, "schema_version": 3}
    settings = data.get("settings")
    if isinstance(settings, dict):
        out["settings"] = {"catalog_reading": "recovered", **settings}
        out.pop("config", None)
        out.pop("selection", None)
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _v1_to_v2, 2: _v2_to_v3}
