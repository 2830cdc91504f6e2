"""`agenteval init`: an eval config, a GitHub workflow and .gitignore lines for the catalog a
repository has, so its first run and its CI are two commands away.

The files are templates in `data/`; nothing that exists is overwritten unless asked.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template
from typing import Literal

from agenteval.errors import CatalogError

CONFIG = Path("evals/agenteval.yaml")
WORKFLOW = Path(".github/workflows/agenteval.yml")
IGNORED = ("reports/", ".agenteval/")
# where this repository will be hosted is not known: the user points `uses:` at it
PLACEHOLDER = "<owner>/agenteval@<ref>"
_MANIFEST = Path(".claude-plugin") / "plugin.json"
_LOOKED_FOR = (
    ".claude/agents/*.md, a plugin (.claude-plugin/plugin.json in the repository, in a folder "
    "of it or in plugins/*), agents/*.md, .claude/skills/*/SKILL.md"
)

CatalogKind = Literal["agents", "plugins", "skills"]


@dataclass(frozen=True, kw_only=True)
class FoundCatalog:
    """What kind of catalog a repository holds, and the folders to read (relative to it, or
    absolute)."""

    kind: CatalogKind
    paths: tuple[Path, ...]


@dataclass(frozen=True, kw_only=True)
class InitOutcome:
    """What `init` found, wrote, left alone and added to .gitignore (paths relative to root)."""

    catalog: FoundCatalog
    written: tuple[Path, ...]
    kept: tuple[Path, ...]
    ignored: tuple[str, ...]
    action: str
    commands: tuple[str, ...] = (
        f"agenteval lint {CONFIG.as_posix()}",
        f"agenteval run {CONFIG.as_posix()}",
    )


class _Fill(Template):
    delimiter = "%"  # workflows are full of `$`


def find_catalog(root: Path, agents: Path | None = None) -> FoundCatalog:
    """The catalog in `root`: the given folder, else the first of .claude/agents, plugins (the
    repository itself, a folder of it, plugins/*), agents and .claude/skills that holds
    something Claude Code reads.

    Raises:
        CatalogError: when the given folder does not exist, or nothing was found.
    """
    if agents is not None:
        if not (root / agents).exists():
            raise CatalogError(
                "agents path does not exist", path=agents, hint="pass --agents with a folder"
            )
        return FoundCatalog(kind="agents", paths=(agents,))
    if any((root / ".claude" / "agents").rglob("*.md")):
        return FoundCatalog(kind="agents", paths=(Path(".claude/agents"),))
    plugins = sorted(
        m.parent.parent.relative_to(root)
        for pattern in (str(_MANIFEST), f"*/{_MANIFEST}", f"plugins/*/{_MANIFEST}")
        for m in root.glob(pattern)
    )
    if plugins:  # read as plugins: agents named `plugin:name`, their skills and commands too
        return FoundCatalog(kind="plugins", paths=tuple(plugins))
    if any((root / "agents").rglob("*.md")):
        return FoundCatalog(kind="agents", paths=(Path("agents"),))
    if any((root / ".claude" / "skills").glob("*/SKILL.md")):
        # skills are read beside the .claude/agents folder they go with, even a missing one
        return FoundCatalog(kind="skills", paths=(Path(".claude/agents"),))
    raise CatalogError(
        f"no Claude Code catalog found in {root}",
        hint=f"looked for {_LOOKED_FOR}; pass --agents DIR to name the folder",
    )


def render_config(catalog: FoundCatalog, root: Path) -> str:
    """The eval config for a catalog in `root` (its paths relative to the config's folder)."""
    here = (root / CONFIG.parent).resolve()
    lines = [
        f"  - {json.dumps(Path(os.path.relpath((root / p).resolve(), here)).as_posix())}"
        for p in catalog.paths
    ]
    key = "plugins" if catalog.kind == "plugins" else "agents"
    return _template("init-eval.yaml").substitute(catalog="\n".join([f"{key}:", *lines]))


def render_workflow(action: str = PLACEHOLDER) -> str:
    """The pull-request workflow that runs the eval through the agenteval action at `action`."""
    note = (
        "      # set `uses:` to where agenteval lives: OWNER/REPO@REF\n"
        if action == PLACEHOLDER
        else ""
    )
    return _template("init-workflow.yml").substitute(
        action=action, note=note, config=CONFIG.as_posix()
    )


def init_repo(
    root: Path, *, agents: Path | None = None, action: str = PLACEHOLDER, force: bool = False
) -> InitOutcome:
    """Write the eval config and the workflow for the catalog in `root`, and the .gitignore
    lines; existing files are kept unless `force`.

    Raises:
        CatalogError: when `root` holds no catalog (nothing is written then).
    """
    catalog = find_catalog(root, agents)
    written: list[Path] = []
    kept: list[Path] = []
    for rel, text in ((CONFIG, render_config(catalog, root)), (WORKFLOW, render_workflow(action))):
        target = root / rel
        if target.exists() and not force:
            kept.append(rel)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written.append(rel)
    return InitOutcome(
        catalog=catalog,
        written=tuple(written),
        kept=tuple(kept),
        ignored=ignore_outputs(root / ".gitignore"),
        action=action,
    )


def ignore_outputs(gitignore: Path) -> tuple[str, ...]:
    """Append the lines for run folders and the cache that the file lacks; return them."""
    text = gitignore.read_text(encoding="utf-8") if gitignore.exists() else ""
    present = {_pattern(line) for line in text.splitlines()}
    missing = tuple(line for line in IGNORED if _pattern(line) not in present)
    if missing:
        lead = "\n" if text and not text.endswith("\n") else ""
        gitignore.write_text(text + lead + "".join(f"{m}\n" for m in missing), encoding="utf-8")
    return missing


def _pattern(line: str) -> str:
    """A .gitignore line as the folder it ignores (`/reports/*`, `reports/`: `reports`)."""
    return line.strip().removesuffix("*").strip("/")


def _template(name: str) -> _Fill:
    return _Fill(resources.files("agenteval").joinpath(f"data/{name}").read_text("utf-8"))
