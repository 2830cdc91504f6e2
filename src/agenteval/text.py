"""Text from outside (catalogs, datasets, model answers, API errors) made safe to write.

Two jobs, one rule: every sink gets what it can hold and nothing it would act on.
:func:`redact` takes API keys out before text reaches a file or the terminal; the ``for_*``
functions escape text for one output kind each (terminal, Markdown, XML). HTML is escaped by
jinja2's autoescape in the report templates.
"""

from __future__ import annotations

import re
import threading

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
