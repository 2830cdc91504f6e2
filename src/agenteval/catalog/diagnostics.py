"""Problems found in agent files, and the stable table of codes that names them.

Every diagnostic carries a code from `RULES` (kebab-case, stable across releases, like ruff's rule
names); `agenteval lint --explain CODE` prints the rule's explanation and fix. Codes that start
with `cc-` describe what Claude Code itself does with a file (skips it, cuts its description,
reads a value differently); the others describe what agenteval had to recover or could not use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from agenteval.catalog.yaml12 import MAX_DEPTH

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, kw_only=True)
class Diagnostic:
    """One problem found in a file, with where it is and how to fix it."""

    path: Path
    line: int | None
    severity: Severity
    code: str
    message: str
    hint: str = ""

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else f"{self.path}"
        fix = f" (fix: {self.hint})" if self.hint else ""
        return f"{where}: {self.severity}: {self.message}{fix}"


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One entry of the code table."""

    code: str
    severity: Severity
    title: str
    explanation: str
    fix: str


def _rules(*rules: Rule) -> dict[str, Rule]:
    return {r.code: r for r in rules}


RULES = _rules(
    # -- what Claude Code does with a file ---------------------------------------------------
    Rule(
        code="cc-no-frontmatter",
        severity="error",
        title="Claude Code finds no frontmatter",
        explanation="Claude Code only reads a file that starts with `---` on its very first line "
        "and has a second `---` later. A leading blank line, text before the fence or a missing "
        "closing fence makes it skip the file without a word.",
        fix="start the file with `---` on line 1 and close the frontmatter with `---`",
    ),
    Rule(
        code="cc-bom",
        severity="error",
        title="Claude Code skips a file that starts with a byte-order mark",
        explanation="Claude Code versions before 2.1.332 do not strip a UTF-8 byte-order mark, so "
        "the file does not start with `---` and is skipped.",
        fix="save the file as UTF-8 without a BOM",
    ),
    Rule(
        code="cc-yaml-skipped",
        severity="error",
        title="Claude Code skips a file whose YAML does not parse",
        explanation="Claude Code parses the frontmatter as YAML 1.2; when that fails it retries "
        "once after quoting `key: value` lines with special characters and replacing leading "
        "tabs. When the retry fails too, the file is skipped silently: the model never sees it.",
        fix="quote the description, or write it as a `|` block scalar with indented lines "
        "(`agenteval lint --fix` does this)",
    ),
    Rule(
        code="cc-description-cut",
        severity="error",
        title="Claude Code shows only part of the description",
        explanation="Claude Code's retry succeeded but lines that look like `user: ...` at column "
        "0 became keys of their own, or a `---` inside a line ended the frontmatter early, so "
        "the model is shown a shorter description than the file holds.",
        fix="write the description as a `|` block scalar with every line indented "
        "(`agenteval lint --fix` does this)",
    ),
    Rule(
        code="cc-retried",
        severity="warning",
        title="Claude Code needed its retry to read this file",
        explanation="The frontmatter is not valid YAML; Claude Code's quoting retry happened to "
        "recover it fully. Another CLI version may not.",
        fix="quote the values that hold `: ` or special characters",
    ),
    Rule(
        code="cc-name-not-text",
        severity="error",
        title="Claude Code drops a file whose name is missing or not text",
        explanation="`name` must be a non-empty string. YAML reads `name: 42`, `name: 1.5` or "
        "`name: [a, b]` as a number or a list, and Claude Code then drops the file.",
        fix='quote the name (`name: "42"`), or use letters and dashes',
    ),
    Rule(
        code="cc-description-not-text",
        severity="error",
        title="Claude Code drops a file whose description is missing or not text",
        explanation="`description` must be a non-empty string. YAML 1.2 reads `0777` or `12` as "
        "numbers and `null` or `~` as nothing, and Claude Code then drops the file.",
        fix="quote the description",
    ),
    Rule(
        code="cc-name-dash",
        severity="error",
        title="Claude Code drops a name that starts with `-`",
        explanation="Names starting with `-` are not loaded.",
        fix="start the name with a letter",
    ),
    Rule(
        code="cc-name-colon",
        severity="error",
        title="Claude Code drops a name with `:`",
        explanation="Since 2.1.332 names holding `:` are not loaded (2.1.197 loaded them); `:` is "
        "reserved for plugin namespaces.",
        fix="replace `:` with `-`",
    ),
    Rule(
        code="cc-overridden",
        severity="error",
        title="Another file with the same name wins",
        explanation="Two files define one agent name; Claude Code lists one and never shows the "
        "other: the one whose path sorts last (from 2.1.332 on), the first one read (2.1.197).",
        fix="rename one of the agents or delete the copy",
    ),
    Rule(
        code="cc-yaml12-scalar",
        severity="warning",
        title="A value YAML 1.2 reads differently from YAML 1.1",
        explanation="Claude Code uses YAML 1.2: `yes`, `no`, `on`, `off` stay strings and `0777` "
        "is the decimal 777, where YAML 1.1 tools read booleans and octals.",
        fix="quote the value to say which you mean",
    ),
    Rule(
        code="cc-differs",
        severity="warning",
        title="Claude Code shows a different description than the author wrote",
        explanation="The text Claude Code shows the model differs from the lenient reading of "
        "the file (beyond a cut), e.g. escapes or whitespace handled differently.",
        fix="write the description as a `|` block scalar",
    ),
    Rule(
        code="cc-selfcheck",
        severity="warning",
        title="The installed Claude Code lists the catalog differently than agenteval reads it",
        explanation="When agenteval runs your installed Claude Code, it compares the agent "
        "listing in the CLI's own request with agenteval's emulation of how Claude Code reads "
        "agent files. A difference means the CLI changed, or reads a file in a way agenteval "
        "does not model yet: reports based on the emulation may show the model other text than "
        "the CLI does.",
        fix="report it to agenteval with the file; until it is fixed, route with `claude-cli`",
    ),
    # -- file system --------------------------------------------------------------------------
    # -- plugins and skills ----------------------------------------------------------------
    Rule(
        code="plugin-json",
        severity="error",
        title="A plugin or marketplace manifest is not JSON",
        explanation="`.claude-plugin/plugin.json` names the plugin and `marketplace.json` lists "
        "the plugins of a marketplace. A manifest that does not parse cannot be read: the plugin "
        "is named by its folder, and a marketplace's plugins are not read at all.",
        fix="make the manifest valid JSON (check commas and quotes at the line shown)",
    ),
    Rule(
        code="marketplace-missing",
        severity="error",
        title="A marketplace names a plugin folder that does not exist",
        explanation="Each plugin a marketplace lists has a `source` folder relative to the "
        "marketplace; a missing folder means none of that plugin's agents or skills is read.",
        fix="correct the plugin's `source` in marketplace.json, or add the folder",
    ),
    Rule(
        code="marketplace-remote",
        severity="info",
        title="A marketplace plugin lives elsewhere (not read)",
        explanation="A plugin whose `source` is a repository or URL is fetched by Claude Code at "
        "install time; agenteval reads only local folders, so that plugin's targets are absent.",
        fix="install the plugin and pass its folder with --plugin",
    ),
    Rule(
        code="plugin-generic-description",
        severity="warning",
        title="Claude Code shows a plugin agent with a generic description",
        explanation="A plugin agent file without frontmatter, with YAML that does not parse or "
        "without a description is still listed by Claude Code, under its file stem and with a "
        "generic description that says nothing about what the agent does. agenteval routes a "
        "stand-in text of its own for it.",
        fix="give the file frontmatter with a `description` saying when to use the agent",
    ),
    Rule(
        code="plugin-invalid-manifest",
        severity="error",
        title="Claude Code refuses the plugin's manifest and loads none of the plugin",
        explanation="Claude Code checks a plugin's .claude-plugin/plugin.json before loading it; "
        "an `agents` entry that is not a path to an `.md` file (a folder, say) fails the check, "
        "and then none of the plugin's agents, skills or commands is listed. agenteval reads the "
        "plugin the same way: not at all.",
        fix="list agent files (`./agents/x.md`) under `agents`, or drop the key to load every "
        "file of the plugin's agents/ folder",
    ),
    Rule(
        code="skill-no-frontmatter",
        severity="warning",
        title="A skill or command has no usable frontmatter",
        explanation="Claude Code still lists a SKILL.md or command without frontmatter (or whose "
        "YAML does not parse), with its first body line as the description.",
        fix="start the file with `---`, a `description:` saying when to use it, and `---`",
    ),
    Rule(
        code="skill-agent-same-name",
        severity="info",
        title="A skill and an agent share one name",
        explanation="Agents and skills are separate namespaces: both are listed, the agent for "
        "the Agent tool and the skill for the Skill tool. A dataset names the skill as "
        "`skill:NAME` and the agent as `NAME`.",
        fix="nothing to fix; rename one if the model confuses them",
    ),
    Rule(
        code="dangling-link",
        severity="warning",
        title="A symbolic link points nowhere",
        explanation="The link's target does not exist, so neither Claude Code nor agenteval can "
        "read an agent from it.",
        fix="remove the link or point it at an existing file",
    ),
    Rule(
        code="symlink-loop",
        severity="warning",
        title="A symbolic link leads back into a folder already read",
        explanation="Folders are read once; a link that loops back is not followed again.",
        fix="remove the looping link",
    ),
    Rule(
        code="alias-bomb",
        severity="error",
        title="YAML aliases that expand without bound",
        explanation="The frontmatter's YAML aliases (`*name`) expand to more values than any "
        "agent file needs (a few hundred bytes can expand to gigabytes). The file is refused.",
        fix="write the values out instead of using anchors and aliases",
    ),
    Rule(
        code="yaml-too-deep",
        severity="error",
        title="YAML collections nested without bound",
        explanation="The frontmatter nests lists or mappings inside each other more than "
        f"{MAX_DEPTH} deep (`[[[[...`, `- - - -...`). No agent file needs that; tens of thousands "
        "of levels crash YAML parsers. The file is refused (Claude Code may still list it).",
        fix="write the value flat",
    ),
    Rule(
        code="control-chars",
        severity="error",
        title="Control characters in a name",
        explanation="A name holds NUL, ESC or another control character. Claude Code shows it "
        "to the model as is; in a terminal or report it could rewrite what you see. agenteval "
        "escapes it in every output.",
        fix="remove the control characters from the name",
    ),
    # -- agenteval's lenient reading ----------------------------------------------------------
    Rule(
        code="unparseable",
        severity="error",
        title="The file cannot be read as an agent",
        explanation="The file is not UTF-8, or its frontmatter is never closed or not even "
        "recoverable as `key: value` lines.",
        fix="save as UTF-8 and write the frontmatter as `key: value` lines between `---` fences",
    ),
    Rule(
        code="no-frontmatter",
        severity="warning",
        title="No frontmatter: not an agent",
        explanation="The file has no `---` block, so it is not an agent (a README, notes).",
        fix="start the file with a `---` block holding `name:` and `description:`",
    ),
    Rule(
        code="yaml-recovered",
        severity="warning",
        title="Frontmatter recovered leniently",
        explanation="The frontmatter is not strict YAML; agenteval recovered what the author "
        "meant. Claude Code may read it differently (see the cc- diagnostics of the same file).",
        fix="quote the description or use a `|` block scalar",
    ),
    Rule(
        code="continuation-lines",
        severity="warning",
        title="Description continues on unindented lines",
        explanation="Lines at column 0 that look like keys continue the description.",
        fix="indent the continuation lines or use `description: |`",
    ),
    Rule(
        code="crlf-unquoted",
        severity="warning",
        title="CRLF line endings with an unquoted value",
        explanation="Claude Code's retry does not quote lines ending in CR, so such files fail.",
        fix="convert the file to LF line endings, or quote the value",
    ),
    Rule(
        code="missing-name",
        severity="error",
        title="No name",
        explanation="The frontmatter has no `name`.",
        fix="add `name: your-agent-name`",
    ),
    Rule(
        code="missing-description",
        severity="error",
        title="No description",
        explanation="The frontmatter has no `description`.",
        fix="add a `description:` saying when to use the agent",
    ),
    Rule(
        code="invalid-name",
        severity="warning",
        title="A name Claude Code will not load",
        explanation="The name starts with `-` or holds `:`.",
        fix="use letters, digits, `-`, `_` and `.` only",
    ),
    Rule(
        code="name-mismatch",
        severity="info",
        title="Name differs from the file name",
        explanation="Harmless, but confusing when searching for the file of an agent.",
        fix="rename the file to match (optional)",
    ),
    Rule(
        code="description-not-text",
        severity="warning",
        title="Description is not text",
        explanation="The description is a YAML list or number; agenteval reads it as text.",
        fix="write the description as one string",
    ),
    Rule(
        code="no-examples",
        severity="info",
        title="No <example> blocks",
        explanation="The agent yields no cases but stays a routing target.",
        fix="add <example> blocks with Context / user / assistant turns",
    ),
    Rule(
        code="duplicate-name",
        severity="error",
        title="One name, two files",
        explanation="Two files define the same agent name.",
        fix="rename one of the two agents or delete the copy",
    ),
    Rule(
        code="near-duplicate",
        severity="warning",
        title="Two agents the router can hardly tell apart",
        explanation="The TF-IDF similarity the lexical router computes between the two "
        "descriptions is high: a model will likely confuse them.",
        fix="say in each description what the agent does that the other does not",
    ),
)


def explain(code: str) -> str:
    """The explanation of one code, as `lint --explain CODE` prints it.

    Raises:
        KeyError: when the code is not in the table.
    """
    rule = RULES[code]
    return f"{rule.code} ({rule.severity}): {rule.title}\n\n{rule.explanation}\n\nFix: {rule.fix}\n"


def diagnostic(
    code: str, path: Path, line: int | None, message: str, *, hint: str | None = None
) -> Diagnostic:
    """A diagnostic of a code in the table (its severity and, unless given, its fix)."""
    rule = RULES[code]
    return Diagnostic(
        path=path,
        line=line,
        severity=rule.severity,
        code=code,
        message=message,
        hint=rule.fix if hint is None else hint,
    )


# A diagnostic that another one of the same file already explains: the two would be one cause
# told twice (a description that is not strict YAML is what makes Claude Code retry).
_FOLDED_INTO = {"yaml-recovered": "cc-retried"}


def fold_same_cause(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics to show: one per cause per file, the more informative one kept."""
    found = list(diags)
    codes_by_file: dict[Path, set[str]] = {}
    for d in found:
        codes_by_file.setdefault(d.path, set()).add(d.code)
    return [
        d
        for d in found
        if not (d.code in _FOLDED_INTO and _FOLDED_INTO[d.code] in codes_by_file[d.path])
    ]
