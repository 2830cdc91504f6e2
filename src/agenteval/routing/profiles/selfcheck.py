"""A self-check: the agent listing in the installed CLI's own request against agenteval's
emulated Claude Code reading (`catalog.claude_code`) of the same files.

The CLI runs once against the loopback capture server with the user's agent folders copied byte
for byte into a scratch project (in the user's project context). Every agent the two list
differently becomes a `cc-selfcheck` diagnostic: listed by one and not the other, shown with
other text, or in another order. A new CLI release, or a quirk the emulation does not model yet,
is so caught on the user's own catalog the first time agenteval runs the CLI on it.
Results are cached per CLI version, context, file contents and emulation, beside the profiles.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import Coroutine, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from agenteval.catalog import claude_code
from agenteval.catalog.claude_code import ClaudeCodeReading, read_as_claude_code
from agenteval.catalog.diagnostics import Diagnostic, diagnostic
from agenteval.claude_code_install import ClaudeCode
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
) -> Capture:
    """What the CLI sent with the user's agent folders in its project.

    Raises:
        CaptureError: when the CLI fails or sends no Messages request.
    """
    sentinel = f"agenteval-selfcheck-{uuid.uuid4().hex[:12]}"
    (capture,) = await capture_requests(
        claude.binary, (), [sentinel], model=model, context=context, agent_dirs=agent_dirs
    )
    return capture


def compare(
    capture: Capture, reading: ClaudeCodeReading, builtins: Iterable[str]
) -> tuple[Diagnostic, ...]:
    """Every difference between the CLI's listing in ``capture`` and ``reading``."""
    version = reading.version
    text = "\n".join(t for _, t in texts(capture.request.body))
    emulated = {a.name: a for a in reading.agents}
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
        elif agent.line not in text:
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
    return tuple(found)


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
    reading = read_as_claude_code(agent_dirs, version=claude.version)
    key = _key(claude.version, context, agent_dirs)
    stored = cache / f"selfcheck--{key}.json" if cache is not None else None
    if stored is not None and stored.is_file():
        return tuple(_diag(Path(d["path"]), d["message"]) for d in json.loads(stored.read_text()))
    capture = _run(cli_listing(claude, agent_dirs, context=context))
    found = compare(capture, reading, builtins)
    if stored is not None:
        stored.parent.mkdir(parents=True, exist_ok=True)
        data = [{"path": str(d.path), "message": d.message} for d in found]
        stored.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return found


def _key(version: str, context: ProjectContext, agent_dirs: Sequence[Path]) -> str:
    h = hashlib.sha256(f"{version}\0{context.digest}".encode())
    h.update(Path(claude_code.__file__).read_bytes())  # the emulation itself: a fix re-checks
    for folder in agent_dirs:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _run(coro: Coroutine[Any, Any, Capture]) -> Capture:
    with ThreadPoolExecutor(max_workers=1) as pool:  # callable inside a running event loop too
        return pool.submit(asyncio.run, coro).result()
