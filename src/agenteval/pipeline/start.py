"""The start of a run: its new folder, and the record it starts with (the router, the catalog
and the cases it reads, the versions of what runs it).
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from agenteval.catalog.diagnostics import fold_same_cause
from agenteval.claude_code_install import installed
from agenteval.errors import ConfigError
from agenteval.pipeline.inputs import Loaded
from agenteval.pipeline.reading import reading_info
from agenteval.record.schema import BaselineRef
from agenteval.record.store import RunRecord
from agenteval.routing import PreparedRouter, Router, capabilities_of
from agenteval.routing.profiles.source import prompt_note
from agenteval.settings import RunSettings


def _router_info(router: Router) -> dict[str, Any]:
    """What the router describes, and what it declares about its cost."""
    caps = capabilities_of(router)
    return {**router.describe(), "pricing": caps.pricing, "offline": caps.offline}


def new_record(
    run_dir: Path,
    settings: RunSettings,
    router: Router,
    loaded: Loaded,
    cases: Sequence[Any],
    baseline: BaselineRef | None,
) -> RunRecord:
    """The record a new run starts with, "running": its settings, the router, the catalog and
    the cases it reads, the versions of what ran it, and its baseline."""
    return RunRecord(
        run_id=run_dir.name,
        name=settings.name,
        status="running",
        created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        settings=settings,
        router=_router_info(router),
        holdout=str(settings.holdout),
        catalog=_catalog_info(loaded, settings, cases),
        cases=_case_info(loaded, cases),
        versions=_versions(router),
        baseline=baseline,
        notes=(
            f"router: {settings.backend} ({settings.backend_reason})",
            *filter(None, [prompt_note(router.describe())]),
        ),
    )


def new_run_dir(out: Path, name: str) -> Path:
    """A new folder under ``out``, named by the time and the eval's name.

    Raises:
        ConfigError: when no such folder can be made.
    """
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name)
    for n in range(1000):
        run_dir = out / (f"{stamp}-{safe}" + (f"-{n}" if n else ""))
        try:
            run_dir.mkdir(parents=True)
            return run_dir
        except FileExistsError:
            continue
    raise ConfigError("cannot create a run folder", path=out, hint="clean up the reports folder")


def _catalog_info(loaded: Loaded, settings: RunSettings, cases: Sequence[Any]) -> dict[str, Any]:
    cases_per_agent: dict[str, int] = {}
    for c in loaded.case_set.cases:
        if c.agent:
            cases_per_agent[c.agent] = cases_per_agent.get(c.agent, 0) + 1
    # lint's diagnostics, where the readings differ included, so the report opens with them
    diags = fold_same_cause(
        dict.fromkeys(
            [
                *loaded.catalog.diagnostics,
                *loaded.catalog.differences(),
                *loaded.case_set.diagnostics,
            ]
        )
    )
    shown = loaded.shown
    unlisted = set(loaded.catalog.unlisted)
    seen_by_name: dict[str, Any] = {}
    for listed in shown.agents:
        seen_by_name.setdefault(listed.name, listed)  # the first of a name, as `Catalog.get` finds
    return {
        **reading_info(loaded.catalog, settings.catalog_reading, shown, cases),
        "fingerprint": shown.fingerprint,  # of what the router is shown
        "roots": [str(p) for p in loaded.catalog.roots],
        "agents": [
            {
                "name": a.name,
                # reports show it beside a confusion ("why"): the text the router was shown
                "description": (
                    seen.description if (seen := seen_by_name.get(a.name)) else a.description
                ),
                "listed": a.name not in unlisted,  # by Claude Code
                "path": str(a.path),
                "line": a.line,
                "model": a.model,
                "examples": cases_per_agent.get(a.name, 0),
                "flags": sorted({d.code for d in a.diagnostics if d.severity != "info"}),
            }
            for a in loaded.catalog.agents
        ]
        + _other_labels(loaded, cases_per_agent),
        "diagnostics": [
            {
                "path": str(d.path),
                "line": d.line,
                "severity": d.severity,
                "code": d.code,
                "message": d.message,
                "hint": d.hint,
            }
            for d in diags
        ],
    }


def _other_labels(loaded: Loaded, cases_per_agent: Mapping[str, int]) -> list[dict[str, Any]]:
    """The scored labels beyond the authors' agents (`reading.scored_names`), so a report made
    later from the record scores as the run did: agents only Claude Code's reading names, then
    each skill as `skill:NAME`."""
    meant = set(loaded.catalog.names)
    only_shown = [
        {"name": a.name, "description": a.description, "path": str(a.path), "line": a.line}
        for a in loaded.shown.agents
        if a.name not in meant
    ]
    skills = [
        {
            "name": sk.label,
            "description": sk.description,
            "path": str(sk.path),
            "line": 1,
            "examples": cases_per_agent.get(sk.label, 0),
            "kind": "skill",
        }
        for sk in loaded.catalog.skills
    ]
    return only_shown + skills


def _case_info(loaded: Loaded, selected: Sequence[Any]) -> dict[str, Any]:
    all_cases = loaded.case_set.cases
    return {
        "total": len(all_cases),
        "selected": len(selected),
        "examples": sum(c.origin == "example" for c in all_cases),
        "dataset": sum(c.origin == "dataset" for c in all_cases),
        "generated": sum(c.origin == "generated" for c in all_cases),
        "examples_without_user": loaded.case_set.examples_without_user,
        "with_checks": sum(bool(c.checks) for c in selected),
        "datasets": [str(p) for p in loaded.dataset_paths],
    }


def _versions(router: Router) -> dict[str, str]:
    versions = {"python": platform.python_version()}
    cli = router.claude_code if isinstance(router, PreparedRouter) else None
    cli = cli or installed()  # what the catalog's reading found, when the router runs none
    if cli is not None:
        versions["claude-code"] = cli.version
    for dist in ("agenteval", "scikit-learn", "anthropic"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions
