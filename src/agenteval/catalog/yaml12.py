"""YAML 1.2 as Claude Code parses agent frontmatter, its one retry, and a guard against bombs.

ruamel.yaml (its C parser where ruamel.yaml.clib is installed) with the core schema as the CLI
applies it: no timestamps, no `1_000` numbers, raw control characters accepted, the last value of
a repeated key kept. Aliases are counted before anything is built, so a few hundred bytes that
would expand to billions of values are refused in microseconds.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

MAX_NODES = 100_000  # nodes with aliases expanded: far beyond any agent file, far below a bomb
# Collections inside collections: far beyond any agent file, far below where parsers break
# (ruamel's C composer overflows the C stack tens of thousands deep) and where Python's own
# recursion (repr, JSON, the pure-Python PyYAML loader) gives up.
MAX_DEPTH = 100

_RETRY_LINE = re.compile(r"([\w-]+):\s+([^\r\n]+)")
_RETRY_CHARS = frozenset("{}[]*&#!|>%@`")
_LEADING_TABS = re.compile(r"^\t+")
_WRAPPED = (('"', '"'), ("'", "'"), ("[", "]"))  # values the retry leaves alone; `{...}` is quoted


# Raw control characters YAML forbids but the CLI's parser accepts: swapped for private-use code
# points before parsing and back after, so ruamel reads what the CLI reads.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_STAND_IN = 0xF0000
_RESTORE = re.compile("[\U000f0000-\U000f009f]")


@cache
def _yaml() -> Any:
    from ruamel.yaml import YAML  # the C parser when ruamel.yaml.clib is installed
    from ruamel.yaml.constructor import SafeConstructor
    from ruamel.yaml.resolver import VersionedResolver

    table: dict[Any, Any] = {}

    class Yaml12(VersionedResolver):
        # ruamel looks the version up per scalar through a failing attribute access on the C
        # parser, and rebuilds its resolver table per document (half the load time); agent
        # files are YAML 1.2 as the CLI reads them, so the table is built once.
        @property
        def processing_version(self) -> tuple[int, int]:
            return (1, 2)

        @property
        def versioned_resolver(self) -> Any:
            if not table:
                table.update(super().versioned_resolver)
            return table

    class LastKeyWins(SafeConstructor):
        # The CLI keeps the last value of a repeated key; ruamel raises, or with
        # `allow_duplicate_keys` keeps the first.
        def check_mapping_key(self, *args: Any) -> bool:
            return True

    yaml = YAML(typ="safe")
    yaml.Resolver = Yaml12
    yaml.Constructor = LastKeyWins

    def as_text(loader: Any, node: Any) -> Any:
        return loader.construct_scalar(node)

    def as_int(loader: Any, node: Any) -> Any:
        # The YAML 1.2 core schema has no `1_000`; ruamel still reads it as a number.
        return node.value if "_" in node.value else loader.construct_yaml_int(node)

    # The CLI's YAML 1.2 core schema has no timestamps: `2024-05-01` stays text.
    yaml.constructor.add_constructor("tag:yaml.org,2002:timestamp", as_text)
    yaml.constructor.add_constructor("tag:yaml.org,2002:int", as_int)
    return yaml


def _restore(value: Any) -> Any:
    if isinstance(value, str):
        return _RESTORE.sub(lambda m: chr(ord(m.group()) - _STAND_IN), value)
    if isinstance(value, list):
        return [_restore(v) for v in value]
    if isinstance(value, dict):
        return {_restore(k): _restore(v) for k, v in value.items()}
    return value


class RefusedYamlError(ValueError):
    """YAML refused before it is built; `code` names the diagnostic."""

    code = "refused-yaml"


class AliasBombError(RefusedYamlError):
    """With its aliases expanded the YAML would hold more than `MAX_NODES` nodes."""

    code = "alias-bomb"


class TooDeepError(RefusedYamlError):
    """The YAML nests collections more than `MAX_DEPTH` deep."""

    code = "yaml-too-deep"


@cache
def _indicator_run(length: int) -> re.Pattern[str]:
    return re.compile(f"\n[ \t?:-]{{{length}}}")


def too_deep(text: str) -> bool:
    """Whether the YAML nests collections more than `MAX_DEPTH` deep.

    Each flow collection opens with its own `[` or `{`; a block collection is indented deeper
    than its parent's parent, or opened by a `- `/`? ` at the start of its line, so twice the
    longest run of spaces and indicators that starts a line, plus the brackets, plus a few,
    bounds the depth. Only a text whose bound exceeds `MAX_DEPTH` is walked through the
    parser's events (nothing built, the walk stops past `MAX_DEPTH`).
    """
    room = (MAX_DEPTH - 4 - text.count("[") - text.count("{")) // 2  # for the longest run
    if room >= 0 and not _indicator_run(room + 1).search("\n" + text):
        return False
    from ruamel.yaml import events as ev

    depth = 0
    try:
        for event in _yaml().parse(text):
            if isinstance(event, ev.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return True
            elif isinstance(event, ev.CollectionEndEvent):
                depth -= 1
    except Exception:  # noqa: BLE001 - a parse error is reported by the real parse
        pass
    return False


def expanded_size(text: str) -> int:
    """How many nodes the YAML would hold with every alias (`*name`) written out.

    Counted from the parser's events, without building anything, so a file of a few hundred
    bytes that expands to billions of nodes costs microseconds. Texts without an anchor are not
    parsed at all (0).
    """
    if "&" not in text or "*" not in text:
        return 0
    from ruamel.yaml import events as ev

    sizes: dict[str, int] = {}
    stack: list[tuple[str | None, int]] = [(None, 0)]
    try:
        for event in _yaml().parse(text):
            if isinstance(event, (ev.ScalarEvent, ev.AliasEvent)):
                n = 1 if isinstance(event, ev.ScalarEvent) else sizes.get(event.anchor, 1)
                if isinstance(event, ev.ScalarEvent) and event.anchor:
                    sizes[event.anchor] = 1
                anchor, total = stack[-1]
                stack[-1] = (anchor, total + n)
            elif isinstance(event, ev.CollectionStartEvent):
                stack.append((event.anchor, 1))
            elif isinstance(event, ev.CollectionEndEvent) and len(stack) > 1:
                anchor, total = stack.pop()
                if anchor:
                    sizes[anchor] = total
                parent, count = stack[-1]
                stack[-1] = (parent, count + total)
            if stack[0][1] > MAX_NODES:
                break
    except Exception:  # noqa: BLE001 - a parse error is reported by the real parse
        pass
    return sum(total for _, total in stack)


def load_yaml12(text: str) -> Any:
    """Parse YAML 1.2 (safe types only).

    Raises:
        AliasBombError: when expanding the aliases would exceed `MAX_NODES` nodes.
        TooDeepError: when collections nest more than `MAX_DEPTH` deep.
        ValueError: when the text is not YAML.
    """
    if too_deep(text):
        raise TooDeepError(f"its YAML collections are nested more than {MAX_DEPTH:,} deep")
    if expanded_size(text) > MAX_NODES:
        raise AliasBombError(f"its YAML aliases expand to more than {MAX_NODES:,} values")
    swapped = _CONTROL.subn(lambda m: chr(_STAND_IN + ord(m.group())), text)
    try:
        value = _yaml().load(swapped[0])
    except Exception as exc:  # ruamel raises many unrelated classes
        raise ValueError(str(exc)) from exc
    return _restore(value) if swapped[1] else value


def retry_text(frontmatter: str) -> str:
    """The frontmatter as Claude Code rewrites it for its one retry."""
    out = []
    for line in frontmatter.split("\n"):
        line = _LEADING_TABS.sub(lambda m: "  " * len(m.group()), line)
        m = _RETRY_LINE.fullmatch(line)
        if m and _needs_quotes(m.group(2)):
            value = m.group(2).replace("\\", "\\\\").replace('"', '\\"')
            line = f'{m.group(1)}: "{value}"'
        out.append(line)
    return "\n".join(out)


def _needs_quotes(value: str) -> bool:
    if len(value) >= 2 and (value[0], value[-1]) in _WRAPPED:
        return False
    return ": " in value or any(c in _RETRY_CHARS for c in value)
