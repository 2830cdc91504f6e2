"""Plugins and marketplaces: which folders are plugins, and their agents as Claude Code lists them.

A plugin is a folder holding `.claude-plugin/plugin.json`; its `name` names the plugin, else the
folder does. A marketplace is a folder holding `.claude-plugin/marketplace.json`, whose `plugins`
name their `source` folders. The facts are measured on the real CLI (CLAUDE_CODE.md, "Plugins"):

* agents live under the plugin's `agents/` folder (recursively) and are listed as
  `<plugin>:<subfolders...>:<name>`;
* plugin files are read more leniently than project files: a file without frontmatter, whose
  YAML fails or that has no description is still listed, under its file stem, with a generic
  description; `when_to_use` stands in for a missing description; numeric names and names
  holding `:` are listed; the description is trimmed and a literal `\\n` stays two characters.

The CLI's generic description is its own text, which this project never copies: an agent listed
with it carries `generic=True` and a stand-in text written here (`generic_description`), and
`lint` reports it (`plugin-generic-description`) so the author can write a real one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from agenteval.catalog.claude_code import FileReading, decode, tools_text
from agenteval.catalog.diagnostics import Diagnostic, diagnostic
from agenteval.catalog.files import AgentFile, find_agent_files
from agenteval.catalog.recovered import Agent, parse_agent_file
from agenteval.catalog.skills import SkillSet, parse_frontmatter, read_commands, read_skills
from agenteval.errors import CatalogError

MANIFEST = Path(".claude-plugin") / "plugin.json"
# the project rules' reasons to skip a file, which the plugin rules do not share
_PROJECT_SKIPS = frozenset(
    {
        "no-frontmatter",
        "missing-name",
        "missing-description",
        "description-not-text",
        "invalid-name",
    }
)
MARKETPLACE = Path(".claude-plugin") / "marketplace.json"


@dataclass(frozen=True, kw_only=True)
class Plugin:
    """One plugin folder and the name Claude Code gives it."""

    name: str
    root: Path


@dataclass(frozen=True, kw_only=True)
class PluginSet:
    """The plugins found under some folders, and what was wrong with their manifests."""

    plugins: tuple[Plugin, ...]
    diagnostics: tuple[Diagnostic, ...] = ()


def is_plugin_root(path: Path) -> bool:
    """Whether a folder is a plugin or a marketplace (read by the plugin rules)."""
    return (path / MANIFEST).is_file() or (path / MARKETPLACE).is_file()


def plugin_roots(paths: Iterable[Path]) -> tuple[Path, ...]:
    """The plugin (or marketplace) folders `--plugin` names: each path that is one, else the
    plugin folders directly inside it (as the CLI's `--plugin-dir` takes a folder of plugins).

    Raises:
        CatalogError: for a path that is neither.
    """
    roots: list[Path] = []
    for path in (Path(p) for p in paths):
        if path.is_dir() and is_plugin_root(path):
            roots.append(path)
            continue
        inside = sorted(p for p in path.iterdir() if is_plugin_root(p)) if path.is_dir() else []
        if not inside:
            raise CatalogError(
                "not a plugin: no .claude-plugin/plugin.json or marketplace.json here "
                "nor in a folder inside",
                path=path,
                hint="pass the folder that holds .claude-plugin/, or use --agents for a plain "
                "folder of agent files",
            )
        roots.extend(inside)
    return tuple(roots)


def find_plugins(paths: Iterable[Path]) -> PluginSet:
    """The plugins of the given plugin or marketplace folders, in the order given.

    A manifest that is not JSON, or a marketplace entry whose folder is missing, is a
    diagnostic; the plugins that can be read still are.
    """
    plugins: list[Plugin] = []
    diags: list[Diagnostic] = []
    for root in (Path(p) for p in paths):
        if (root / MARKETPLACE).is_file():
            _read_marketplace(root, plugins, diags)
        elif (plugin := _read_manifest(root, diags)) is not None:
            plugins.append(plugin)
    return PluginSet(plugins=tuple(plugins), diagnostics=tuple(diags))


def _load_json(path: Path, diags: list[Diagnostic]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        reason = getattr(exc, "msg", None) or str(exc)
        diags.append(diagnostic("plugin-json", path, line, f"not readable as JSON: {reason}"))
        return None


def _read_manifest(root: Path, diags: list[Diagnostic]) -> Plugin | None:
    """The plugin of a folder, or None when Claude Code refuses its manifest."""
    manifest = root / MANIFEST
    name = None
    if manifest.is_file():
        data = _load_json(manifest, diags)
        if isinstance(data, Mapping) and isinstance(data.get("name"), str) and data["name"]:
            name = data["name"]
        if isinstance(data, Mapping) and (refused := _refused_agents(data.get("agents"))):
            diags.append(
                diagnostic(
                    "plugin-invalid-manifest",
                    manifest,
                    None,
                    f"its `agents` entry {refused!r} is not a path ending in .md, so Claude "
                    f"Code does not load the plugin {name or root.resolve().name!r} at all",
                )
            )
            return None
    return Plugin(name=name or root.resolve().name, root=root)


def _refused_agents(value: Any) -> str | None:
    """The first `agents` entry of a manifest that Claude Code's check refuses (measured: an
    entry must be a path ending in `.md`)."""
    entries = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    return next((e for e in entries if not (isinstance(e, str) and e.endswith(".md"))), None)


def _read_marketplace(root: Path, plugins: list[Plugin], diags: list[Diagnostic]) -> None:
    path = root / MARKETPLACE
    data = _load_json(path, diags)
    if data is None:
        return
    entries = data.get("plugins") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        diags.append(diagnostic("plugin-json", path, None, "has no `plugins` list"))
        return
    for entry in entries:
        entry = entry if isinstance(entry, Mapping) else {}
        name, source = entry.get("name"), entry.get("source")
        label = repr(name) if isinstance(name, str) else "without a name"
        if not isinstance(source, str):
            diags.append(
                diagnostic(
                    "marketplace-remote",
                    path,
                    None,
                    f"plugin {label} has a source that is not a local folder ({source!r}): "
                    "not read",
                )
            )
            continue
        folder = (root / source).resolve()
        if not folder.is_dir():
            diags.append(
                diagnostic(
                    "marketplace-missing",
                    path,
                    None,
                    f"plugin {label} names the folder {source!r}, which does not exist",
                )
            )
            continue
        plugin = _read_manifest(folder, diags)
        if plugin is not None and not (folder / MANIFEST).is_file() and isinstance(name, str):
            plugin = Plugin(name=name or plugin.name, root=folder)
        if plugin is not None:
            plugins.append(plugin)


def generic_description(plugin: str) -> str:
    """agenteval's stand-in for the generic description the CLI gives a plugin agent without
    one (the CLI's own text is not copied here)."""
    return f"Agent from the {plugin} plugin (no description; Claude Code shows a generic one)"


def plugin_agent_files(plugin: Plugin) -> tuple[tuple[AgentFile, ...], tuple[Diagnostic, ...]]:
    """The `.md` files under the plugin's `agents/` folder (none when it has no such folder)."""
    folder = plugin.root / "agents"
    if not folder.is_dir():
        return (), ()
    found = find_agent_files([folder])
    return found.files, found.diagnostics


def full_name(plugin: str, relative: str, name: str) -> str:
    """`<plugin>:<subfolders...>:<name>` for a file at `relative` below `agents/`."""
    subfolders = relative.split("/")[:-1]
    return ":".join([plugin, *subfolders, name])


def read_plugin_agent(plugin: str, file: AgentFile, text: str) -> FileReading:
    """Claude Code's reading of one plugin agent file (always listed, see the module doc)."""
    stem = Path(file.relative).stem
    meta = parse_frontmatter(text)[0] or {}
    name_value = meta.get("name")
    if isinstance(name_value, bool) or not isinstance(name_value, (str, int, float)):
        name_value = None
    name = str(name_value).strip() if name_value is not None else ""
    description = _text(meta.get("description")) or _text(meta.get("when_to_use"))
    generic = not description
    return FileReading(
        path=file.path,
        relative=file.relative,
        status="listed",
        name=full_name(plugin, file.relative, name or stem),
        description=generic_description(plugin) if generic else description,
        tools_text=tools_text(meta.get("tools"), meta.get("disallowedTools")),
        keys=tuple(str(k) for k in meta),
        generic=generic,
    )


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def plugin_skills(plugins: Iterable[Plugin]) -> SkillSet:
    """The plugins' commands, then their skills, each named `plugin:name` (measured on a
    marketplace of 91 plugins: every plugin's commands come before any plugin's skill)."""
    plugins = tuple(plugins)
    commands = SkillSet()
    for plugin in plugins:
        commands += read_commands(plugin.root / "commands", plugin=plugin.name)
    skills = SkillSet()
    for plugin in plugins:
        skills += read_skills(plugin.root / "skills", plugin=plugin.name)
    return commands + skills


@dataclass(frozen=True, kw_only=True)
class PluginCatalog:
    """Everything some plugins bring: both readings of their agents, their skills, problems."""

    plugins: tuple[Plugin, ...] = ()
    agents: tuple[Agent, ...] = ()  # the recovered reading, named as the CLI lists them
    files: tuple[FileReading, ...] = ()  # Claude Code's reading, in discovery order
    skills: SkillSet = SkillSet()
    diagnostics: tuple[Diagnostic, ...] = ()


def load_plugins(paths: Iterable[Path]) -> PluginCatalog:
    """Read every plugin of the given plugin or marketplace folders (see the module doc)."""
    found = find_plugins(paths)
    agents: list[Agent] = []
    files: list[FileReading] = []
    diags = list(found.diagnostics)
    for plugin in found.plugins:
        agent_files, walk_diags = plugin_agent_files(plugin)
        diags.extend(walk_diags)
        for f in agent_files:
            data = f.path.read_bytes()
            reading = read_plugin_agent(plugin.name, f, decode(data))
            files.append(reading)
            agents.append(_recovered(plugin.name, f, data, reading, diags))
    return PluginCatalog(
        plugins=found.plugins,
        agents=tuple(agents),
        files=tuple(files),
        skills=plugin_skills(found.plugins),
        diagnostics=tuple(diags),
    )


def _recovered(
    plugin: str, f: AgentFile, data: bytes, reading: FileReading, diags: list[Diagnostic]
) -> Agent:
    """The author's reading of a plugin agent, under the name the CLI lists it by."""
    name = reading.name or f.path.stem
    agent, file_diags = parse_agent_file(f.path, data)
    diags.extend(d for d in file_diags if d.code not in _PROJECT_SKIPS)
    if reading.generic:
        diags.append(
            diagnostic(
                "plugin-generic-description",
                f.path,
                1,
                f"plugin agent {name!r} has no description Claude Code can read",
            )
        )
    if agent is None:
        return Agent(name=name, description=reading.description or "", path=f.path, plugin=plugin)
    return replace(agent, name=name, plugin=plugin)
