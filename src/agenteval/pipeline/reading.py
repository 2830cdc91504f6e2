"""Which reading of the catalog a run routes, and what the record says about it.

By default a router sees the catalog as Claude Code reads it (`Catalog.as_claude_code`): files
it skips are absent, cut descriptions are cut. `catalog.reading: recovered` routes what the
authors meant. Cases always come from the recovered reading, so a case whose agent Claude Code
never lists still runs and is scored `unlisted`; the record counts those and names the files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from agenteval.cases import NONE_LABEL, Case
from agenteval.catalog import Catalog
from agenteval.config import CatalogReading

CUT_CODE = "cc-description-cut"


def routed_catalog(catalog: Catalog, reading: CatalogReading) -> Catalog:
    """The catalog a router is shown under ``reading``."""
    return catalog.as_claude_code() if reading == "claude-code" else catalog


def scored_names(catalog: Catalog, routed: Catalog) -> tuple[str, ...]:
    """The scorecard's agent labels: every agent the authors meant (so an unlisted agent keeps
    its row), then any name only Claude Code's reading has (a YAML 1.2 name), so no pick of a
    listed agent falls outside the labels; then every skill as `skill:NAME`."""
    meant = set(catalog.names)
    skills = tuple(s.label for s in catalog.skills)
    return (*catalog.names, *(n for n in routed.names if n not in meant), *skills)


def can_never_route(case: Case, shown: Iterable[str]) -> bool:
    """Whether none of a case's acceptable agents is among the agents a router is shown."""
    names = set(shown)
    return not any(e == NONE_LABEL or e in names for e in case.expected)


def reading_info(
    catalog: Catalog, reading: CatalogReading, routed: Catalog, cases: Sequence[Case]
) -> dict[str, Any]:
    """The record's account of the reading: the CLI version, which reading was routed, the files
    Claude Code skips or cuts (by path, with the agent the author meant), the agents it never
    lists, how many of the selected cases can never route, and the count of lint errors."""
    cc = catalog.claude_code
    differences = catalog.differences()
    by_path = {a.path: a for a in catalog.agents}
    skipped = [
        {
            "path": str(f.path),
            "agent": by_path[f.path].name,
            "reason": f.reason or f.status,
            "detail": f.detail,
        }
        for f in (cc.not_listed if cc is not None else ())
        if f.path in by_path
    ]
    cut = [
        {"path": str(d.path), "agent": by_path[d.path].name, "message": d.message}
        for d in differences
        if d.code == CUT_CODE and d.path in by_path
    ]
    shown = set(routed.names) if reading == "claude-code" else set(catalog.names)
    return {
        "reading": reading,
        "claude_code_version": cc.version if cc is not None else None,
        "skipped": skipped,
        "cut": cut,
        "unlisted": list(catalog.unlisted),
        "unlisted_cases": sum(can_never_route(c, shown) for c in cases),
        "catalog_errors": sum(d.severity == "error" for d in differences),
    }
