"""Text from outside (catalogs, datasets, model answers, API errors) made safe to write.

Two jobs, one rule: every sink gets what it can hold and nothing it would act on.
:func:`redact` takes API keys out before text reaches a file or the terminal; the ``for_*``
functions escape text for one output kind each (terminal, Markdown, XML). HTML is escaped by
jinja2's autoescape in the report templates.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence

REDACTED = "[redacted]"
# Anthropic keys (sk-ant-api03-..., sk-ant-admin01-...); the prefix alone is kept so a reader
# sees which kind of secret was there
_KEY_SHAPE = re.compile(r"sk-ant-[A-Za-z0-9_\-]{6,}")
_MIN_SECRET = 8  # shorter values would blank ordinary words
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a configured credential so :func:`redact` removes it wherever it appears.

    The router that is handed the key registers it; the record writers, far from the router,
    then redact it too without the key being passed around.
    """
    value = (value or "").strip()
    if len(value) >= _MIN_SECRET:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every registered secret and anything shaped like an Anthropic key replaced."""
    if not text:
        return text
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _KEY_SHAPE.sub("sk-ant-" + REDACTED, text) if "sk-ant-" in text else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def for_record(text: str) -> str:
    """A line for a record file: secrets redacted, lone surrogates (a model may send one as a
    JSON escape; UTF-8 cannot hold it, and writing it would crash the run) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", redact(text))


# --- escaping, one function per kind of sink -------------------------------------------------

# C0 and C1 controls, DEL, bidi overrides (they reorder what a reader sees), lone surrogates
# (not encodable as UTF-8) and the two non-characters XML forbids
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_UNSAFE_LINE = re.compile(_UNSAFE.pattern[:-1] + "\t\n]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}
# what starts Markdown structure mid-line: `_` only at a word's edge (intraword it is literal,
# and escaping it would make snake_case unreadable in the raw file); `!(){}#` only after or
# beside characters escaped here, or at a line start, where this text never is
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>|~&]|(?<!\w)_|_(?!\w)")
_BACKTICKS = re.compile(r"`+")
_REFERENCE = re.compile(r"@|#(?=\d)")  # what GitHub turns into a mention or an issue link
_RICH_BARE_BRACKET = re.compile(r"(?<=\\)\[(?![a-z#/@][^\[]*?\])")


def _shown(match: re.Match[str]) -> str:
    ch = match.group(0)
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def visible(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control character written out (ESC as ``\\e``, NUL as ``\\x00``).

    Args:
        text: Any text from outside.
        multiline: Keep newlines and tabs; otherwise they are written out too, so one value
            stays on one line and cannot forge the lines after it.
    """
    if text.isascii():  # the common case: nothing to write out (no regex scan)
        if text.isprintable():
            return text
        if multiline and text.replace("\n", "").replace("\t", "").isprintable():
            return text  # its only controls are the newlines and tabs a multi-line text keeps
    pattern = _UNSAFE if multiline else _UNSAFE_LINE
    return pattern.sub(_shown, text.replace("\r\n", "\n") if multiline else text)


def for_terminal(text: object, *, multiline: bool = False) -> str:
    """Text for ``click.echo``: no escape sequence reaches the terminal."""
    return visible(str(text), multiline=multiline)


def for_rich(text: object) -> str:
    """Text inside a rich markup string: controls written out and ``[`` escaped.

    Print it on a ``Console(emoji=False)``, or ``:name:`` in the text turns into an emoji.
    """
    from rich.markup import escape

    shown = for_terminal(text)
    body = shown.rstrip("\\")
    # rich halves backslashes that precede a tag, so the ones ending the text are doubled, and
    # it drops one backslash before a `[` that starts no tag, so that one gets one more
    escaped = _RICH_BARE_BRACKET.sub(r"\\[", escape(body))
    return escaped + "\\" * (2 * (len(shown) - len(body)))


def md_text(text: object) -> str:
    """Markdown inline text on one line, safe in a table cell: no markup, link, HTML or ``|``,
    and no GitHub reference: ``@name`` would notify that user (a backslash does not stop it,
    GitHub links mentions after Markdown) and ``#12`` would link an issue, so a zero-width
    space (``&#8203;``) follows every ``@`` and every ``#`` before a digit."""
    escaped = _MD_SPECIAL.sub(lambda m: "\\" + m.group(0), visible(str(text)))
    return _REFERENCE.sub(lambda m: m.group(0) + "&#8203;", escaped)


def md_code(text: object, *, table: bool = False) -> str:
    """An inline code span showing ``text`` as is (a backtick inside cannot close it).

    Args:
        text: The name or id to show.
        table: The span sits in a table cell, where GitHub splits on ``|`` even in code.
    """
    body = visible(str(text))
    if table:
        body = body.replace("|", "\\|")
    if not body:
        return "` `"
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(body)), default=0) + 1)
    pad = " " if body[0] == "`" or body[-1] == "`" or body[0] == body[-1] == " " else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def for_xml(text: object) -> str:
    """Text an XML 1.0 document can hold (ElementTree escapes ``&<>"`` itself)."""
    return visible(str(text), multiline=True)


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``1 error``, ``2 errors``: a count with its noun agreeing (``many`` for odd plurals)."""
    return f"{n} {noun if n == 1 else many or noun + 's'}"


def join_words(words: Sequence[str]) -> str:
    """``2``, ``2 and 3``, ``1, 2 and 3``."""
    if len(words) < 2:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"
