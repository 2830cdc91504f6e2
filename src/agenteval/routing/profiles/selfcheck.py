"""A self-check: the agent and skill listings in the installed CLI's own request against
agenteval's emulated Claude Code reading (`catalog.claude_code`, `catalog.skills`) of the same
files.

The CLI runs once against the loopback capture server with the user's agent folders copied byte
for byte into a scratch project (in the user's project context), beside the project's skills and
commands and the plugins (loaded with `--plugin-dir`), laid out as the claude-cli router lays
them out (`cli_files`). Every agent or skill the two list differently becomes a `cc-selfcheck`
diagnostic: listed by one and not the other, shown with other text, or in another order. A new
CLI release, or a quirk the emulation does not model yet, is so caught on the user's own catalog
the first time agenteval runs the CLI on it.
Results are cached per CLI version, context, file contents and emulation, beside the profiles.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import uuid
from collections.abc import Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

from agenteval.catalog import Catalog, Skill, claude_code, load_catalog
from agenteval.catalog import plugins as plugin_rules
from agenteval.catalog import skills as skill_rules
from agenteval.catalog.claude_code import ClaudeCodeReading, read_as_claude_code
from agenteval.catalog.diagnostics import Diagnostic, diagnostic
from agenteval.catalog.plugins import is_plugin_root
from agenteval.catalog.skills import project_folder
from agenteval.claude_code_install import ClaudeCode
from agenteval.errors import CatalogError
from agenteval.routing.cli_files import PROJECT, Install, ProjectFile, folder_files, plugin_files
from agenteval.routing.profiles.capture import Capture, capture_requests
from agenteval.routing.profiles.locate import texts
from agenteval.routing.profiles.project import NO_CONTEXT, ProjectContext

CODE = "cc-selfcheck"


async def cli_listing(
    claude: ClaudeCode,
    agent_dirs: Sequence[Path],
    *,
    context: ProjectContext = NO_CONTEXT,
    model: str | None = None,
    install: Install | None = None,
) -> Capture:
    """What the CLI sent with the user's agent folders in its project (and ``install``'s skills,
    commands and plugins beside them).

    Raises:
        CaptureError: when the CLI fails or sends no Messages request.
    """
    sentinel = f"agenteval-selfcheck-{uuid.uuid4().hex[:12]}"
    (capture,) = await capture_requests(
        claude.binary,
        (),
        [sentinel],
        model=model,
        context=context,
        agent_dirs=agent_dirs,
        install=install,
    )
    return capture


def installed_beside(catalog: Catalog, agent_dirs: Sequence[Path]) -> Install:
    """The skills and commands of the agent folders' projects and the catalog's plugins, every
    file Claude Code may list of them copied byte for byte (laid out as the claude-cli router
    lays them out), whether the emulation reads it or not."""
    files: list[ProjectFile] = []
    for folder in agent_dirs:
        claude = project_folder(folder)
        if claude is not None:
            files += folder_files(claude, PurePosixPath(PROJECT, ".claude"), ("skills", "commands"))
    dirs = []
    for i, plugin in enumerate(catalog.plugins):
        where, found = plugin_files(i, plugin.root)
        dirs.append(where)
        files += found
    return Install(files=tuple(files), plugin_dirs=tuple(dirs))


def compare(
    capture: Capture,
    reading: ClaudeCodeReading,
    builtins: Iterable[str],
    skills: Sequence[Skill] = (),
    plugins: Iterable[str] = (),
) -> tuple[Diagnostic, ...]:
    """Every difference between the CLI's listings in ``capture`` and ``reading`` (agents) and
    ``skills`` (the catalog's skills and commands, of the project and of ``plugins``)."""
    text = "\n".join(t for _, t in texts(capture.request.body))
    return (
        *_compare_agents(capture, text, reading, builtins),
        *_compare_skills(capture, text, reading, skills, plugins),
    )


def _compare_skills(
    capture: Capture,
    text: str,
    reading: ClaudeCodeReading,
    skills: Sequence[Skill],
    plugins: Iterable[str],
) -> list[Diagnostic]:
    version = reading.version
    found: list[Diagnostic] = []
    ours = {sk.name for sk in skills}
    prefixes = tuple(f"{p}:" for p in plugins)
    folders = {sk.path.parent.name for sk in skills if sk.source == "skill" and not sk.plugin}
    for name in capture.skills:  # one of the catalog's, by its folder or its plugin
        if name not in ours and (name.startswith(prefixes) or name in folders):
            where = _folder(reading)
            found.append(
                _diag(
                    where,
                    f"Claude Code {version} lists skill {name!r}; agenteval's reading of the "
                    "catalog does not",
                )
            )
    positions = []
    for sk in skills:
        at = text.find(sk.line + "\n")
        if at < 0 and not text.endswith(sk.line):
            shown = _cli_entry(text, sk.name)
            said = (
                f"shows skill {sk.name!r} as {shown!r}"
                if shown
                else (f"does not list skill {sk.name!r}")
            )
            found.append(
                _diag(
                    sk.path, f"Claude Code {version} {said}; agenteval's reading shows {sk.line!r}"
                )
            )
        else:
            positions.append((at if at >= 0 else len(text), sk.name))
    if positions != sorted(positions):
        found.append(
            _diag(
                _folder(reading),
                f"Claude Code {version} orders the skills "
                f"{', '.join(n for _, n in sorted(positions))}; agenteval's reading orders them "
                f"{', '.join(n for _, n in positions)}",
            )
        )
    return found


def _compare_agents(
    capture: Capture, text: str, reading: ClaudeCodeReading, builtins: Iterable[str]
) -> list[Diagnostic]:
    version = reading.version
    emulated = {a.name: a for a in reading.agents}
    generic = {f.path for f in reading.files if f.generic}  # the CLI's own text: not compared
    shown = [n for n in capture.listed if n in emulated or n not in set(builtins)]
    found: list[Diagnostic] = []
    for name in shown:
        if name not in emulated:
            found.append(
                _diag(
                    _folder(reading),
                    f"Claude Code {version} lists agent {name!r}; agenteval's reading of the "
                    "catalog does not",
                )
            )
    for agent in reading.agents:
        if agent.name not in shown:
            found.append(
                _diag(
                    agent.path,
                    f"agenteval's reading lists agent {agent.name!r} from this file; Claude Code "
                    f"{version} does not",
                )
            )
        elif agent.line not in text and agent.path not in generic:
            found.append(
                _diag(
                    agent.path,
                    f"Claude Code {version} shows agent {agent.name!r} as "
                    f"{_cli_entry(text, agent.name)!r}; agenteval's reading shows {agent.line!r}",
                )
            )
    both = [n for n in shown if n in emulated]
    ours = [a.name for a in reading.agents if a.name in set(shown)]
    if both != ours:
        found.append(
            _diag(
                _folder(reading),
                f"Claude Code {version} orders the listing {', '.join(both)}; agenteval's reading "
                f"orders it {', '.join(ours)}",
            )
        )
    return found


def line(d: Diagnostic) -> str:
    """One difference as a terminal line, in `agenteval lint`'s form (code included)."""
    return f"{d.path}: {d.severity}[{d.code}]: {d.message} (fix: {d.hint})"


def _diag(path: Path, message: str) -> Diagnostic:
    return diagnostic(CODE, path, None, message)


def _folder(reading: ClaudeCodeReading) -> Path:
    return reading.files[0].path.parent if reading.files else Path(".")


def _cli_entry(text: str, name: str) -> str:
    m = re.search(r"(?m)^- " + re.escape(name) + r": .*?(?=\n- |\n\n|\Z)", text, re.S)
    return m.group(0)[:300] if m else ""


def self_check(
    claude: ClaudeCode,
    agent_dirs: Sequence[Path],
    *,
    builtins: Iterable[str],
    context: ProjectContext = NO_CONTEXT,
    cache: Path | None = None,
) -> tuple[Diagnostic, ...]:
    """Run the CLI on ``agent_dirs`` and compare its listing with the emulated reading.

    Args:
        cache: A folder to keep results in, keyed by CLI version, context and file contents.

    Raises:
        CaptureError: when the CLI fails or sends no Messages request.
    """
    plain = [d for d in agent_dirs if not is_plugin_root(d)]
    key = _key(claude.version, context, agent_dirs)
    stored = cache / f"selfcheck--{key}.json" if cache is not None else None
    if stored is not None and stored.is_file():
        return tuple(_diag(Path(d["path"]), d["message"]) for d in json.loads(stored.read_text()))
    try:
        catalog = load_catalog(agent_dirs, version=claude.version)
    except CatalogError:  # nothing the emulation can list: compare with an empty reading
        catalog = Catalog(agents=(), claude_code=read_as_claude_code(plain, version=claude.version))
    reading = catalog.claude_code or read_as_claude_code(plain, version=claude.version)
    install = installed_beside(catalog, plain)
    capture = _run(cli_listing(claude, plain, context=context, install=install))
    plugins = [p.name for p in catalog.plugins]
    found = compare(capture, reading, builtins, catalog.skills, plugins)
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        data = [{"path": str(d.path), "message": d.message} for d in found]
        stored.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return found


def _key(version: str, context: ProjectContext, agent_dirs: Sequence[Path]) -> str:
    h = hashlib.sha256(f"{version}\0{context.digest}".encode())
    h.update(Path(claude_code.__file__).read_bytes())  # the emulation itself: a fix re-checks
    h.update(Path(skill_rules.__file__).read_bytes() + Path(plugin_rules.__file__).read_bytes())
    for folder in agent_dirs:
        for path in sorted(p for p in _read_by_cli(folder) if p.is_file()):
            h.update(os.path.relpath(path, folder).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _read_by_cli(folder: Path) -> Iterable[Path]:
    """The files of an agent folder, its project's skills and commands, or a plugin folder."""
    yield from folder.rglob("*")
    project = project_folder(folder)
    if project is not None and not is_plugin_root(folder):
        for sub in ("skills", "commands"):
            yield from (project / sub).rglob("*")


def _run(coro: Coroutine[Any, Any, Capture]) -> Capture:
    with ThreadPoolExecutor(max_workers=1) as pool:  # callable inside a running event loop too
        return pool.submit(asyncio.run, coro).result()
