"""The agent catalog: every agent file read twice, as Claude Code reads it and as its author meant.

* `claude_code.py`: what the real CLI shows the model (versioned by CLI version), or that it
  skips a file or cuts a description;
* `recovered.py`: the lenient reading of what the author meant (`Catalog.agents`);
* `files.py`: the discovery both share; `diagnostics.py`: the table of problem codes.

`load_catalog` reads each file from disk once and builds both readings from the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from agenteval.catalog.claude_code import (
    ClaudeCodeReading,
    FileReading,
    ListedAgent,
    assemble,
    decode,
    default_version,
    read_as_claude_code,
    read_file,
)
from agenteval.catalog.diagnostics import RULES, Diagnostic, Severity, diagnostic, explain
from agenteval.catalog.files import find_agent_files
from agenteval.catalog.plugins import Plugin, PluginCatalog, is_plugin_root, load_plugins
from agenteval.catalog.plugins import plugin_roots as find_plugin_roots
from agenteval.catalog.recovered import Agent, normalise_text, parse_agent_file
from agenteval.catalog.skills import (
    SKILL_PREFIX,
    Skill,
    SkillSet,
    project_folder,
    read_commands,
    read_skills,
    within_budget,
)
from agenteval.errors import CatalogError

__all__ = [
    "RULES",
    "Agent",
    "AgentsFolder",
    "Catalog",
    "ClaudeCodeReading",
    "Diagnostic",
    "FileReading",
    "ListedAgent",
    "Plugin",
    "SKILL_PREFIX",
    "Severity",
    "Skill",
    "default_agents_folder",
    "discover_agent_dirs",
    "explain",
    "load_catalog",
    "normalise_text",
    "parse_agent_file",
    "read_as_claude_code",
]


@dataclass(frozen=True, kw_only=True)
class Catalog:
    """Both readings of the agents under test, plus every problem met while loading them.

    `agents` is the recovered reading (what the author meant), sorted by name; `claude_code` is
    what Claude Code shows the model (None only for a catalog built by hand in a test). Plugin
    agents are named as the CLI lists them (`plugin:sub:name`). `skills` are the skills and
    commands listed for the Skill tool, in the CLI's order, scored as `skill:NAME`.
    """

    agents: tuple[Agent, ...]
    diagnostics: tuple[Diagnostic, ...] = ()
    roots: tuple[Path, ...] = ()
    claude_code: ClaudeCodeReading | None = None
    skills: tuple[Skill, ...] = ()
    plugins: tuple[Plugin, ...] = ()  # the plugin folders read, each under its plugin name

    @property
    def names(self) -> tuple[str, ...]:
        """The agents' names (skills have their own namespace: `target_labels`)."""
        return tuple(a.name for a in self.agents)

    @property
    def target_labels(self) -> tuple[str, ...]:
        """Every label a case may expect: the agents' names, then `skill:NAME` per skill."""
        return (*self.names, *(s.label for s in self.skills))

    @property
    def fingerprint(self) -> str:
        """sha256 of what a router sees: every agent's name, description and tools (and each
        skill's name and description, when there are skills)."""
        h = hashlib.sha256()
        for a in self.agents:
            h.update(f"{a.name}\0{a.description}\0{a.tools_text}\0".encode())
        for sk in self.skills:
            h.update(f"{sk.label}\0{sk.description}\0".encode())
        return h.hexdigest()

    def get(self, name: str) -> Agent | None:
        return next((a for a in self.agents if a.name == name), None)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def unlisted(self) -> tuple[str, ...]:
        """Agents of the recovered reading that Claude Code never lists (sorted)."""
        if self.claude_code is None:
            return ()
        shown = set(self.claude_code.names)
        return tuple(a.name for a in self.agents if a.name not in shown)

    def differences(self) -> tuple[Diagnostic, ...]:
        """Diagnostics for every file whose two readings differ (what `lint` reports)."""
        from agenteval.catalog.differences import compare_readings

        if self.claude_code is None:
            return ()
        return compare_readings(self.claude_code, self.agents)

    def as_claude_code(self) -> Catalog:
        """The catalog a router should see by default: the agents Claude Code lists, in its
        order, each with the exact description and tools text the model is shown.

        Examples (cases) still come from the recovered reading; a case whose expected agent is
        in `unlisted` can never be routed right.
        """
        if self.claude_code is None:
            return self
        by_path = {a.path: a for a in self.agents}
        agents = []
        for shown in self.claude_code.agents:
            meant = by_path.get(shown.path)
            base = (
                meant
                if meant is not None
                else Agent(name=shown.name, description="", path=shown.path)
            )
            agents.append(
                replace(
                    base,
                    name=shown.name,
                    description=shown.description,
                    shown_tools=shown.tools_text,
                )
            )
        return replace(self, agents=tuple(agents))


@dataclass(frozen=True, kw_only=True)
class AgentsFolder:
    """The default agents folder, and why it was chosen when another default was passed over."""

    path: Path
    note: str | None = None


def default_agents_folder(cwd: Path | None = None) -> AgentsFolder:
    """The first of ``./agents``, ``./.claude/agents`` that holds at least one agent file (an
    ``.md`` with frontmatter); a folder with none (a README only) gives way to the next.

    Raises:
        CatalogError: when neither folder holds an agent file.
    """
    base = cwd or Path.cwd()
    candidates = [base / "agents", base / ".claude" / "agents"]
    existing = [c for c in candidates if c.is_dir()]
    empty: list[str] = []
    for candidate in existing:
        shown = candidate.relative_to(base).as_posix()
        if _holds_agent_file(candidate):
            path = candidate.relative_to(base) if cwd is None else candidate
            note = f"agents: {shown} ({', '.join(empty)} holds no agent file)" if empty else None
            return AgentsFolder(path=path, note=note)
        empty.append(shown)
    if existing:  # let the loader say what is wrong with the files it finds
        path = existing[0].relative_to(base) if cwd is None else existing[0]
        return AgentsFolder(path=path)
    raise CatalogError(
        f"no agents folder found in {base}",
        hint="pass --agents DIR, or run from a project with ./agents or ./.claude/agents",
    )


def _holds_agent_file(folder: Path) -> bool:
    for f in find_agent_files([folder]).files:
        try:
            with f.path.open("rb") as fh:
                head = fh.read(64)
        except OSError:
            continue
        if head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t").startswith(b"---"):
            return True
    return False


def discover_agent_dirs(explicit: Sequence[Path] = (), cwd: Path | None = None) -> tuple[Path, ...]:
    """Where the agents are: the given paths, else `default_agents_folder`.

    Raises:
        CatalogError: when nothing was given and neither default folder exists.
    """
    if explicit:
        return tuple(Path(p) for p in explicit)
    return (default_agents_folder(cwd).path,)


def load_catalog(
    paths: Iterable[Path], *, version: str | None = None, plugins: Iterable[Path] = ()
) -> Catalog:
    """Load every agent file under the given folders (recursively) or files, in both readings,
    with the plugins' agents and every skill and command listed beside them.

    A folder holding `.claude-plugin/plugin.json` or `marketplace.json` is read as a plugin
    (or a marketplace of plugins), whether given in `paths` or `plugins`. A bad file never
    raises: it becomes a diagnostic and the rest of the catalog loads.

    Args:
        paths: folders or files.
        version: the Claude Code version whose reading to build (default: the installed CLI's,
            else the pinned one).
        plugins: plugin or marketplace folders, or folders of plugins.

    Raises:
        CatalogError: when a path does not exist, a plugin path holds no plugin, or no agent
            nor skill at all could be loaded.
    """
    given = tuple(Path(p) for p in paths)
    plain = tuple(p for p in given if not (p.is_dir() and is_plugin_root(p)))
    plugin_roots = (*(p for p in given if p not in plain), *find_plugin_roots(plugins))
    version = version or default_version()
    # a project with skills or commands and no .claude/agents folder: its skills are still read
    skills_only = tuple(p for p in plain if not p.exists() and _has_project_folder(p))
    found = find_agent_files([p for p in plain if p not in skills_only])
    diagnostics: list[Diagnostic] = list(found.diagnostics)
    agents: list[Agent] = []
    readings: list[FileReading] = []
    for f in found.files:
        data = f.path.read_bytes()
        readings.append(read_file(f, decode(data), version=version))
        agent, diags = parse_agent_file(f.path, data)
        diagnostics.extend(diags)
        if agent is not None:
            agents.append(agent)
    extra = load_plugins(plugin_roots) if plugin_roots else PluginCatalog()
    diagnostics.extend(extra.diagnostics)
    by_name = _unique(agents + list(extra.agents), diagnostics)
    skills = _project_skills(plain) + extra.skills
    diagnostics.extend(skills.diagnostics)
    diagnostics.extend(_shared_names(by_name, skills.skills))
    if not by_name and not skills.skills:
        where = ", ".join(str(p) for p in (*given, *plugin_roots)) or "(no paths)"
        raise CatalogError(
            f"no agents found in {where} ({len(found.files)} .md files, none a valid agent)",
            hint="agent files need YAML frontmatter with `name` and `description`; "
            "run `agenteval lint` to see why each file was skipped",
        )
    reading = assemble([*readings, *extra.files], version=version, diagnostics=found.diagnostics)
    return Catalog(
        agents=tuple(sorted(by_name.values(), key=lambda a: (a.name.lower(), a.name))),
        diagnostics=tuple(diagnostics),
        roots=(*plain, *plugin_roots),
        claude_code=reading,
        skills=within_budget(skills.skills),
        plugins=extra.plugins,
    )


def _has_project_folder(path: Path) -> bool:
    folder = project_folder(path)
    return folder is not None and folder.is_dir()


def _unique(agents: Iterable[Agent], diagnostics: list[Diagnostic]) -> dict[str, Agent]:
    """Agents by name; a second file with a name already read is an error and left out."""
    by_name: dict[str, Agent] = {}
    for agent in agents:
        first = by_name.get(agent.name)
        if first is None:
            by_name[agent.name] = agent
            continue
        diagnostics.append(
            Diagnostic(
                path=agent.path,
                line=agent.line,
                severity="error",
                code="duplicate-name",
                message=f"agent name {agent.name!r} is defined twice: in {first.path} "
                f"(kept) and in {agent.path} (ignored)",
                hint="rename one of the two agents or delete the copy",
            )
        )
    return by_name


def _project_skills(paths: Iterable[Path]) -> SkillSet:
    """The skills, then the commands, of each `.claude` folder whose `agents` folder is read."""
    skills = SkillSet()
    commands = SkillSet()
    for path in paths:
        folder = project_folder(path)
        if folder is not None:
            skills += read_skills(folder / "skills")
            commands += read_commands(folder / "commands")
    return skills + commands


def _shared_names(agents: Mapping[str, Agent], skills: Iterable[Skill]) -> list[Diagnostic]:
    return [
        diagnostic(
            "skill-agent-same-name",
            sk.path,
            1,
            f"skill {sk.name!r} has the name of the agent in {agents[sk.name].path}: both are "
            f"listed; a dataset names the skill `{sk.label}`",
        )
        for sk in skills
        if sk.name in agents
    ]
