"""Skills and commands: the targets Claude Code lists for its Skill tool, beside the agents.

The facts are measured on the real CLI (CLAUDE_CODE.md, "Skills and commands"):

* the catalog's entries (project skills and commands, then every plugin's commands, then every
  plugin's skills) take at most `LIST_BUDGET` characters: each, in order, is shown with its
  description when the whole list (the others as they stand so far, the rest named only)
  still fits, else as `- NAME` alone; a later, shorter one may still fit;
* project skills are `.claude/skills/NAME/SKILL.md`, one level deep, named by their folder; a
  frontmatter `name` that differs shows as `- folder (name): ...`;
* project commands are `.claude/commands/*.md`, named by their stem; plugins bring both, named
  `plugin:name`;
* without frontmatter the first body line is the description (a plugin's item without
  frontmatter is not listed); `when_to_use` is appended as ` - ...`; a description over 1,536
  characters is cut to 1,535 and an ellipsis; `<` and `>` are shown as `&lt;` and `&gt;`.

A skill is scored under the label `skill:NAME` (`Skill.label`), so agents and skills stay
separate namespaces: one name may be both, and a pick of the skill is right only when the skill
was expected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from agenteval.catalog.claude_code import FRONTMATTER, decode
from agenteval.catalog.diagnostics import Diagnostic, diagnostic
from agenteval.catalog.yaml12 import AliasBombError, load_yaml12, retry_text

SKILL_PREFIX = "skill:"
MAX_DESCRIPTION = 1536
ELLIPSIS = "\u2026"
# The characters (JavaScript string length) the catalog's entries of the Skill tool's list may
# take, a line break after each: beyond it the CLI lists the rest by name only. Measured on
# 2.1.332, the same under every model alias (tests/test_skills.py holds the measurements).
LIST_BUDGET = 23_926

Source = Literal["skill", "command"]


@dataclass(frozen=True, kw_only=True)
class Skill:
    """One skill or command as the Skill tool's list shows it."""

    name: str  # what the Skill tool is called with: folder, command stem, or `plugin:name`
    description: str  # as the model is shown it (cut at MAX_DESCRIPTION)
    text: str  # the description before the cut (where `<example>` blocks are read)
    path: Path
    source: Source = "skill"
    plugin: str | None = None
    title: str | None = None  # the frontmatter `name` (plugin-prefixed), when it differs
    in_full: bool = True  # False: beyond the list's budget, listed by name only

    kind = "skill"

    @property
    def cut_text(self) -> str:
        """The shown description before its markup is escaped (where examples are found)."""
        return cut_description(self.text)

    @property
    def label(self) -> str:
        """The scorecard label: `skill:NAME`."""
        return SKILL_PREFIX + self.name

    @property
    def shown_name(self) -> str:
        """The name as the list writes it: `NAME`, or `NAME (TITLE)`."""
        return f"{self.name} ({self.title})" if self.title else self.name

    @property
    def line(self) -> str:
        """The list entry, as the Skill tool's list writes it."""
        if not self.in_full:
            return f"- {self.shown_name}"
        return f"- {self.shown_name}: {self.description}"


@dataclass(frozen=True, kw_only=True)
class SkillSet:
    """Skills read from some folders, and the problems found."""

    skills: tuple[Skill, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()

    def __add__(self, other: SkillSet) -> SkillSet:
        return SkillSet(
            skills=self.skills + other.skills, diagnostics=self.diagnostics + other.diagnostics
        )


def js_length(text: str) -> int:
    """The length JavaScript gives a string (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def in_full(entries: Sequence[tuple[str, str]]) -> list[bool]:
    """Which of the catalog's entries (shown name, shown description), in list order, the
    Skill tool's list shows with their description (see `LIST_BUDGET`)."""
    total = sum(js_length(f"- {name}") + 1 for name, _ in entries)
    shown: list[bool] = []
    for _, description in entries:
        extra = js_length(f": {description}")
        fits = total + extra <= LIST_BUDGET
        total += extra if fits else 0
        shown.append(fits)
    return shown


def within_budget(skills: Sequence[Skill]) -> tuple[Skill, ...]:
    """The skills, those beyond the list's budget marked to be listed by name only."""
    full = in_full([(sk.shown_name, sk.description) for sk in skills])
    return tuple(
        sk if keep else replace(sk, in_full=False) for sk, keep in zip(skills, full, strict=True)
    )


def parse_frontmatter(text: str) -> tuple[Mapping[str, Any] | None, str]:
    """The frontmatter (by the CLI's regex, YAML 1.2 parse and one retry) and the body after it.

    The mapping is None when there is no frontmatter or it does not parse as a mapping.
    """
    text = text.removeprefix("\ufeff")
    m = FRONTMATTER.match(text)
    if m is None:
        return None, text
    body = text[m.end() :]
    for attempt in (m.group(1), retry_text(m.group(1))):
        try:
            meta = load_yaml12(attempt)
        except AliasBombError:
            return None, body
        except ValueError:
            continue
        return (meta if isinstance(meta, Mapping) else None), body
    return None, body


def cut_description(description: str) -> str:
    """The description cut at MAX_DESCRIPTION characters, as the Skill tool's list cuts it."""
    if len(description) > MAX_DESCRIPTION:
        return description[: MAX_DESCRIPTION - 1] + ELLIPSIS
    return description


def escape_markup(text: str) -> str:
    """`<` and `>` as the Skill tool's list writes them (measured: `&` and quotes stay)."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def shown_description(description: str) -> str:
    """The description as the Skill tool's list shows it: cut, then `<` and `>` escaped."""
    return escape_markup(cut_description(description))


def read_skill(path: Path, name: str, *, source: Source, plugin: str | None) -> SkillSet:
    """One SKILL.md or command file, named `name` (prefixed with the plugin's name).

    Without frontmatter a project item is listed with its first body line as description; a
    plugin's is not listed at all (both measured on 2.1.332), and either way it is flagged.
    """
    meta, body = parse_frontmatter(decode(path.read_bytes()))
    full = f"{plugin}:{name}" if plugin else name
    if meta is None and (plugin or source == "skill"):  # a project command needs none
        shown = "is not listed" if plugin else "is listed with its first body line as description"
        flag = diagnostic(
            "skill-no-frontmatter",
            path,
            1,
            f"{source} {full!r} has no frontmatter Claude Code can read: it {shown}",
        )
        if plugin:
            return SkillSet(diagnostics=(flag,))
        diags: tuple[Diagnostic, ...] = (flag,)
    else:
        diags = ()
    meta = meta or {}
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        description = next((ln.strip() for ln in body.splitlines() if ln.strip()), "")
    description = description.strip()
    when = meta.get("when_to_use")
    if isinstance(when, str) and when.strip():
        description = f"{description} - {when.strip()}"
    title = meta.get("name")
    title = title if isinstance(title, str) and title and title != name else None
    skill = Skill(
        name=full,
        description=shown_description(description),
        text=description,
        path=path,
        source=source,
        plugin=plugin,
        title=f"{plugin}:{title}" if plugin and title else title,
    )
    return SkillSet(skills=(skill,), diagnostics=diags)


def read_skills(folder: Path, *, plugin: str | None = None) -> SkillSet:
    """`skills/NAME/SKILL.md` (one level) under `folder`, by folder name."""
    out = SkillSet()
    if not folder.is_dir():
        return out
    for child in sorted(folder.iterdir(), key=lambda p: p.name):
        path = child / "SKILL.md"
        if child.is_dir() and path.is_file():
            out += read_skill(path, child.name, source="skill", plugin=plugin)
    return out


def read_commands(folder: Path, *, plugin: str | None = None) -> SkillSet:
    """`commands/*.md` under `folder`, by file stem."""
    out = SkillSet()
    if not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.md"), key=lambda p: p.name):
        if path.is_file():
            out += read_skill(path, path.stem, source="command", plugin=plugin)
    return out


def project_folder(agents_path: Path) -> Path | None:
    """The `.claude` folder whose skills and commands go with an agents path (`.claude/agents`)."""
    if agents_path.name == "agents" and agents_path.parent.name == ".claude":
        return agents_path.parent
    return None
