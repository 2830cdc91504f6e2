"""`agenteval lint`: what Claude Code does with each file, likely confusions, and safe fixes.

`lint_catalog` gathers the diagnostics of both readings (and where they differ) plus the overlap
check; `fix_file` proposes a rewrite of one file's YAML form and keeps it only when re-reading
the new text proves that Claude Code then shows exactly what the author meant; `lint_json` is the
machine-readable form.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agenteval.catalog import Agent, Catalog, Diagnostic, parse_agent_file
from agenteval.catalog.claude_code import decode, read_file
from agenteval.catalog.diagnostics import diagnostic, fold_same_cause
from agenteval.catalog.differences import compare_readings
from agenteval.catalog.files import AgentFile
from agenteval.catalog.recovered import key_spans
from agenteval.reports import relative_path
from agenteval.routing.lexical import Overlap, agent_document, near_duplicates

# Tuned on the pairs the lexical router confuses on the laywill catalog (see
# bench/overlap_threshold.py): most pairs it names are confused, and it names about half of the
# pairs confused more than once.
DEFAULT_OVERLAP = 0.3
STEM_LETTERS = 6  # the lexical router counts a word by its first six letters (its stem)
FIXABLE = frozenset(
    {"cc-yaml-skipped", "cc-description-cut", "cc-retried", "cc-no-frontmatter", "cc-bom"}
)


@dataclass(frozen=True, kw_only=True)
class LintReport:
    """Everything `lint` reports for one catalog."""

    catalog: Catalog
    diagnostics: tuple[Diagnostic, ...]  # sorted by file and line
    overlaps: tuple[Overlap, ...]

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity == "warning" for d in self.diagnostics)


@dataclass(frozen=True, kw_only=True)
class Fix:
    """A proposed rewrite of one file, and whether re-reading proved it."""

    path: Path  # as the catalog found it
    target: Path  # the file a fix writes: `path`, or its link's target inside the folder
    original: bytes = field(default=b"", repr=False)  # what was read, checked again before writing
    before: str
    after: str | None  # None: no rewrite could be proved to help, or it may not be written
    reason: str

    @property
    def diff(self) -> str:
        if self.after is None:
            return ""
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=str(self.path),
                tofile=f"{self.path} (fixed)",
            )
        )


@dataclass(frozen=True, kw_only=True)
class FixOutcome:
    """What became of one proved fix when it was written."""

    path: Path
    written: bool
    reason: str = ""


class ChangedError(Exception):
    """The file is no longer what lint read: someone edited it meanwhile."""


def lint_catalog(
    catalog: Catalog,
    extra: Iterable[Diagnostic] = (),
    *,
    overlap: float | None = DEFAULT_OVERLAP,
) -> LintReport:
    """Both readings' diagnostics, where they differ, and near-duplicate agents.

    Args:
        catalog: a catalog from `load_catalog` (with its Claude Code reading).
        extra: more diagnostics to report with them (the cases' ones).
        overlap: the TF-IDF similarity from which two agents are reported; None: no check.
    """
    found = [*catalog.diagnostics, *extra]
    if catalog.claude_code is not None:
        found.extend(compare_readings(catalog.claude_code, catalog.agents))
    overlaps: tuple[Overlap, ...] = ()
    if overlap is not None and len(catalog.agents) > 1:
        documents = {a.name: agent_document(a.name, a.description) for a in catalog.agents}
        overlaps = near_duplicates(documents, min_similarity=overlap)
        paths = {a.name: a for a in catalog.agents}
        for o in overlaps:
            first = paths[o.first]
            terms = whole_words(o.shared_terms, documents[o.first], documents[o.second])
            other = relative_path(str(paths[o.second].path), catalog.roots)
            found.append(
                diagnostic(
                    "near-duplicate",
                    first.path,
                    first.description_line,
                    f"{o.first!r} and {o.second!r} are {o.similarity:.2f} alike "
                    f"(shared terms: {', '.join(terms)}; {other})",
                )
            )
    unique = fold_same_cause(dict.fromkeys(found))
    unique.sort(key=lambda d: (str(d.path), d.line or 0, d.code))
    return LintReport(catalog=catalog, diagnostics=tuple(unique), overlaps=overlaps)


def whole_words(stems: Sequence[str], *texts: str) -> tuple[str, ...]:
    """Each stem (a word's first letters, as the router counts words) as the word it most often
    stands for in the texts, preferring a word found in every text: `incide` reads as a typo,
    `incident` does not."""
    counts = [Counter(re.findall(r"[a-z0-9]+", t.lower())) for t in texts]
    total = sum(counts, Counter[str]())
    shown = []
    for stem in stems:
        words = [w for w in total if w[:STEM_LETTERS] == stem]
        words.sort(key=lambda w: (-all(w in c for c in counts), -total[w], len(w), w))
        shown.append(words[0] if words else stem)
    return tuple(shown)


def lint_json(report: LintReport) -> dict[str, Any]:
    """The `lint --json` document: the CLI version, agents in Claude Code order, diagnostics."""
    reading = report.catalog.claude_code
    agents: list[dict[str, Any]] = []
    if reading is not None:
        for a in reading.agents:
            agents.append(
                {
                    "file": str(a.path),
                    "listed": True,
                    "name": a.name,
                    "description": a.description,
                    "tools": a.tools_text,
                }
            )
        for f in reading.not_listed:
            agents.append(
                {
                    "file": str(f.path),
                    "listed": False,
                    "name": f.name,
                    "description": f.description,
                    "tools": f.tools_text,
                    "reason": f.reason,
                }
            )
    return {
        "claude_code_version": reading.version if reading else None,
        "agents": agents,
        "diagnostics": [
            {
                "code": d.code,
                "severity": d.severity,
                "file": str(d.path),
                "line": d.line,
                "message": d.message,
                "fix": d.hint,
            }
            for d in report.diagnostics
        ],
    }


# -- fixes -------------------------------------------------------------------------------------


def propose_fixes(report: LintReport) -> tuple[Fix, ...]:
    """One `Fix` per file whose Claude Code reading falls short of what its author meant.

    Two paths that lead to one file (a link inside the folder) give one fix.
    """
    by_path = {a.path: a for a in report.catalog.agents}
    paths = sorted(
        {d.path for d in report.diagnostics if d.code in FIXABLE and d.path in by_path},
        key=str,
    )
    version = report.catalog.claude_code.version if report.catalog.claude_code else None
    roots = report.catalog.roots
    fixes: list[Fix] = []
    seen: dict[Path, Path] = {}
    for p in paths:
        fix = fix_file(p, by_path[p], version=version or "", roots=roots)
        if fix.after is not None and fix.target in seen:
            fix = replace(fix, after=None, reason=f"the same file as {seen[fix.target]}")
        elif fix.after is not None:
            seen[fix.target] = p
        fixes.append(fix)
    return tuple(fixes)


def fix_file(path: Path, meant: Agent, *, version: str, roots: Sequence[Path] = ()) -> Fix:
    """Rewrite the YAML form of one file so Claude Code reads what the lenient reading reads.

    Only the description's lines change, to a `|-` block scalar of the same text: every other
    line, comment and key stays as it is. The rewrite is kept only if re-reading it shows both
    readings agree. A file that may not be written (outside `roots` through a link, hard-linked,
    read-only or unreadable) gets no rewrite and a reason.
    """
    target, problem = _writable_target(path, roots)
    try:
        data = target.read_bytes()
    except OSError as exc:
        return Fix(path=path, target=target, before="", after=None, reason=_os_reason(exc))
    before = decode(data)

    def refused(reason: str) -> Fix:
        return Fix(
            path=path, target=target, original=data, before=before, after=None, reason=reason
        )

    if problem:
        return refused(problem)
    candidate = _rewrite(before, meant)
    if candidate is None:
        return refused("no safe rewrite found")
    problem = _prove(path, candidate, meant, version=version)
    if problem:
        return refused(problem)
    return Fix(
        path=path,
        target=target,
        original=data,
        before=before,
        after=candidate,
        reason="both readings now agree",
    )


def apply_fixes(fixes: Sequence[Fix]) -> tuple[FixOutcome, ...]:
    """Write the proved fixes, each replacing its file whole, and say what became of each.

    A file that changed since it was read is left alone; a file that cannot be written is
    reported and the others are still written.
    """
    outcomes: list[FixOutcome] = []
    for f in fixes:
        if f.after is None:
            continue
        try:
            replace_file(f.target, f.after.encode("utf-8"), f.original)
        except ChangedError:
            reason = "changed since lint read it: run `agenteval lint --fix` again"
            outcomes.append(FixOutcome(path=f.path, written=False, reason=reason))
        except OSError as exc:
            outcomes.append(FixOutcome(path=f.path, written=False, reason=_os_reason(exc)))
        else:
            outcomes.append(FixOutcome(path=f.path, written=True))
    return tuple(outcomes)


def _writable_target(path: Path, roots: Sequence[Path]) -> tuple[Path, str | None]:
    """The file a fix of `path` would write, or why none may be written."""
    target = path.resolve()
    inside = [Path(r).resolve() for r in roots]
    if inside and not any(target == r or target.is_relative_to(r) for r in inside):
        return target, f"a link to {target}, outside the agents folder: fix that file itself"
    try:
        st = target.stat()
    except OSError as exc:
        return target, _os_reason(exc)
    if st.st_nlink > 1:
        return target, (
            f"the file has {st.st_nlink} hard links, so a fix would split them: "
            "edit it by hand, or give it one name"
        )
    if not st.st_mode & 0o222:
        return target, "read-only: make it writable (chmod u+w) to let --fix rewrite it"
    return target, None


def replace_file(path: Path, data: bytes, expected: bytes) -> None:
    """Replace `path` with `data` atomically, unless it no longer holds `expected`.

    The new text goes to a temporary file beside it (a name no catalog scan reads as an agent),
    then is renamed over the old one: a kill leaves the old file or the new one, never half.
    """
    if path.read_bytes() != expected:
        raise ChangedError(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".agenteval-fix")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        if path.read_bytes() != expected:
            raise ChangedError(path)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _os_reason(exc: OSError) -> str:
    return f"cannot read or write it ({exc.strerror or exc})"


def _rewrite(text: str, meant: Agent) -> str | None:
    return rewrite_description(text, meant.description)


def rewrite_description(text: str, description: str) -> str | None:
    """An agent file's text with its description written as a `|-` block scalar of
    `description`, and every other line as it was; None when the file has no single
    `description:` key in a `---` frontmatter to rewrite."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.removeprefix("\ufeff").replace("\r\n", "\n").split("\n")
    start = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if start is None or lines[start].rstrip() != "---":
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].rstrip() == "---"), None)
    if end is None:
        return None
    frontmatter = lines[start + 1 : end]
    spans, _ = key_spans(frontmatter)
    described = [s for s in spans if s.key == "description"]
    if len(described) != 1:
        return None
    (span,) = described
    value = set(span.lines)
    while len(value) > 1 and not frontmatter[max(value)].strip():
        value.discard(max(value))  # blank lines before the next key are not the value's
    kept = [frontmatter[i] for i in range(span.start, span.stop) if i not in value]
    body_lines = description.split("\n")
    indicator = "|2-" if body_lines[0].startswith(" ") else "|-"
    block = [f"description: {indicator}", *(f"  {ln}" if ln else "" for ln in body_lines)]
    new_fm = [*frontmatter[: span.start], *block, *kept, *frontmatter[span.stop :]]
    out = ["---", *new_fm, *lines[end:]]
    return newline.join(out)  # without a BOM: CLI versions before 2.1.332 skip such files


def _prove(path: Path, text: str, meant: Agent, *, version: str) -> str | None:
    """None when both readings of `text` show `meant`'s name, description and tools."""
    from agenteval.catalog import normalise_text

    cc = read_file(AgentFile(path=path, relative=path.name), text, version=version)
    if cc.status != "listed" or cc.retried:
        return f"Claude Code would still not read it cleanly ({cc.reason or 'retry'})"
    if cc.name != meant.name or cc.tools_text != meant.tools_text:
        return "the rewrite would change the name or the tools"
    if cc.description is None or normalise_text(cc.description) != meant.description:
        return "the rewrite would change the description's text"
    again, _ = parse_agent_file(path, text.encode("utf-8"))
    fields = ("name", "description", "tools", "disallowed_tools", "model", "body")
    if again is None or any(getattr(again, f) != getattr(meant, f) for f in fields):
        return "the lenient reading of the rewrite differs"
    if dict(again.extra) != dict(meant.extra):
        return "the rewrite would change another key's value"
    return None
