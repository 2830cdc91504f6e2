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
# A secret is found however an echo wrote it: any case, a hyphen URL- or JSON-escaped, and
# broken across lines (a real line break, or the `\n` of a JSON string) where a message wraps
_HYPHEN = r"(?:-|%2d|\\u002d|\\x2d)"
_BREAK = r"[ \t]*(?:\r?\n|\\r\\n|\\n)[ \t]*"
_KEY_CHAR = rf"(?:[a-z0-9_]|{_HYPHEN})"
# Anthropic keys (sk-ant-api03-..., sk-ant-admin01-...); the prefix alone is kept so a reader
# sees which kind of secret was there. A key runs on across a line break until it has the
# length of an API key, so a key that ends a line leaves the next line alone.
_KEY_SHAPE = re.compile(rf"sk{_HYPHEN}ant{_HYPHEN}((?:{_KEY_CHAR}|{_BREAK}(?={_KEY_CHAR}))+)", re.I)
_KEY_PIECE = re.compile(rf"({_BREAK})", re.I)
_KEY_ESCAPE = re.compile(_HYPHEN, re.I)
_KEY_LENGTH = 108
_MIN_KEY = 6  # characters after the prefix: fewer is a mention of the format, not a key
_MIN_SECRET = 8  # shorter values would blank ordinary words
_secrets: set[str] = set()
_secrets_found: re.Pattern[str] | None = None
_secrets_flat: tuple[str, ...] = ()  # as `_flat` writes them: the cheap test before the regex
_lock = threading.Lock()
_WHITESPACE = str.maketrans("", "", " \t\r\n")


def register_secret(value: str | None) -> None:
    """Remember a configured credential so :func:`redact` removes it wherever it appears.

    The router that is handed the key registers it; the record writers, far from the router,
    then redact it too without the key being passed around.
    """
    global _secrets_found, _secrets_flat
    value = (value or "").strip()
    if len(value) >= _MIN_SECRET and value not in _secrets:
        with _lock:
            _secrets.add(value)
            longest_first = sorted(_secrets, key=len, reverse=True)
            _secrets_found = re.compile("|".join(map(_secret_pattern, longest_first)), re.I)
            _secrets_flat = tuple(_flat(s) for s in longest_first)


def _secret_pattern(secret: str) -> str:
    chars = (_HYPHEN if c == "-" else re.escape(c) for c in secret)
    return f"(?:{_BREAK})?".join(chars)


def _flat(text: str) -> str:
    """``text`` lower-cased, its hyphen escapes written as ``-`` and its line breaks and
    spaces dropped: whatever the patterns find is in here as a plain substring, so a plain
    ``in`` tells whether they need to run at all."""
    flat = text.lower().replace("\\r", "").replace("\\n", "").translate(_WHITESPACE)
    for escaped in ("%2d", "\\u002d", "\\x2d"):
        flat = flat.replace(escaped, "-")
    return flat


def redact(text: str) -> str:
    """``text`` with every registered secret and anything shaped like an Anthropic key replaced,
    in any case, escaped or broken across lines."""
    if not text:
        return text
    flat = _flat(text)
    if _secrets_found is not None and any(s in flat for s in _secrets_flat):
        text = _secrets_found.sub(REDACTED, text)
    return _KEY_SHAPE.sub(_key_redacted, text) if "sk-ant-" in flat else text


def _key_redacted(match: re.Match[str]) -> str:
    pieces = _KEY_PIECE.split(match.group(1))  # key text at even places, line breaks between
    length = len("sk-ant-")
    for i in range(0, len(pieces), 2):
        length += len(_KEY_ESCAPE.sub("-", pieces[i]))
        if length >= _KEY_LENGTH and i + 1 < len(pieces):  # a whole key: what follows is text
            return "sk-ant-" + REDACTED + pieces[i + 1] + redact("".join(pieces[i + 2 :]))
    if length - len("sk-ant-") < _MIN_KEY:
        return match.group(0)
    return "sk-ant-" + REDACTED


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
# what GitHub turns into a mention or an issue link
_REFERENCE = re.compile(r"@|#(?=\d)|\bgh-(?=\d)", re.IGNORECASE)
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
    GitHub links mentions after Markdown) and ``#12`` or ``GH-12`` would link an issue, so a
    zero-width space (``&#8203;``) follows every ``@``, every ``#`` before a digit and every
    ``GH-`` (any case) before a digit."""
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
