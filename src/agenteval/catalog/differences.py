"""Where Claude Code's reading of a file differs from what its author meant, as diagnostics.

For each file: Claude Code skips it (why), lists another file of the same name instead, cuts the
description (to how many characters), shows a different text or tools, or reads a YAML 1.2
scalar where the author wrote a YAML 1.1 boolean. Names with control characters are flagged
whatever the reading. Every message escapes the text it quotes (`repr`), so nothing from a file
reaches a terminal raw.
"""

from __future__ import annotations

import re
from pathlib import Path

from agenteval.catalog.claude_code import ClaudeCodeReading, FileReading
from agenteval.catalog.diagnostics import Diagnostic, diagnostic
from agenteval.catalog.recovered import Agent, normalise_text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_YAML11_WORDS = frozenset({"yes", "no", "on", "off", "y", "n", "true", "false"})


def compare_readings(
    reading: ClaudeCodeReading, agents: tuple[Agent, ...]
) -> tuple[Diagnostic, ...]:
    """Diagnostics for every file whose two readings differ (see the module docstring)."""
    by_path: dict[Path, Agent] = {a.path: a for a in agents}
    found: list[Diagnostic] = list(reading.diagnostics)
    for f in reading.files:
        found.extend(_file_differences(f, by_path.get(f.path)))
    return tuple(found)


def _file_differences(f: FileReading, meant: Agent | None) -> list[Diagnostic]:
    """Where Claude Code's reading of one file differs from ``meant``, the agent the lenient
    reading finds in it (None: no agent)."""
    out: list[Diagnostic] = []
    line = meant.description_line if meant else 1
    name = f.name if f.name is not None else (meant.name if meant else None)
    if name is not None and _CONTROL.search(name):
        out.append(
            diagnostic(
                "control-chars",
                f.path,
                1,
                f"name {name!r} holds control characters",
            )
        )
    if f.status == "skipped" and f.reason:
        if meant is None:
            return out  # not an agent in either reading; the lenient reading says why
        out.append(
            diagnostic(
                f.reason,
                f.path,
                line,
                f"Claude Code skips this file: {f.detail} "
                f"(agenteval reads agent {meant.name!r} from it)",
            )
        )
        return out
    if f.status == "overridden":
        out.append(
            diagnostic("cc-overridden", f.path, 1, f"Claude Code never lists this file: {f.detail}")
        )
        return out
    if meant is None or f.description is None:
        return out
    differs = _description_difference(f, f.description, meant, line)
    if differs is not None:
        out.append(differs)
    if f.name is not None and f.name != meant.name:
        out.append(
            diagnostic(
                "cc-yaml12-scalar",
                f.path,
                1,
                f"Claude Code reads the name as {f.name!r}; YAML 1.1 reads {meant.name!r}",
            )
        )
    if f.tools_text is not None and f.tools_text != meant.tools_text:
        out.append(
            diagnostic(
                "cc-yaml12-scalar" if f.tools_text.lower() in _YAML11_WORDS else "cc-differs",
                f.path,
                1,
                f"Claude Code shows the tools as {f.tools_text!r}; the lenient reading has "
                f"{meant.tools_text!r}",
            )
        )
    return out


def _description_difference(
    f: FileReading, description: str, meant: Agent, line: int
) -> Diagnostic | None:
    """How Claude Code's description (``description``, as the file has it) differs from the
    lenient reading's: cut short, a YAML 1.2 scalar, another text; or read only on the retry."""
    shown = normalise_text(description)
    if shown == meant.description:
        if not f.retried:
            return None
        return diagnostic(
            "cc-retried",
            f.path,
            line,
            "the frontmatter is not YAML; Claude Code's retry reads it fully this time",
        )
    if meant.description.startswith(shown) or (
        f.fence_mid_line and len(shown) < len(meant.description)
    ):
        return diagnostic(
            "cc-description-cut",
            f.path,
            line,
            f"Claude Code shows only the first {len(description)} characters of "
            f"{len(meant.description)} of the description"
            + (" (a `---` inside a line ends the frontmatter)" if f.fence_mid_line else ""),
        )
    if description.strip().lower() in _YAML11_WORDS:
        return diagnostic(
            "cc-yaml12-scalar",
            f.path,
            line,
            f"Claude Code shows the description as the text {description!r}; "
            f"YAML 1.1 reads {meant.description!r}",
        )
    return diagnostic(
        "cc-differs",
        f.path,
        line,
        "Claude Code shows a different description than the lenient reading: "
        f"{_shorten(description)!r} instead of {_shorten(meant.description)!r}",
    )


def _shorten(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
