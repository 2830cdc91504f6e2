"""Whether one text repeats another: a generated request that repeats an example, a proposed
description that holds a test case's request (leakage)."""

from __future__ import annotations

import re

SHINGLE = 5  # words per shingle: long enough that shared ones are copied text, not idiom
NEAR = 0.5  # the share of a request's shingles found in a text that makes it near-verbatim
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")


def words(text: str) -> list[str]:
    """Lower-cased words, punctuation and spacing dropped."""
    return _WORD.findall(text.lower())


def _shingles(ws: list[str]) -> set[tuple[str, ...]]:
    return {tuple(ws[i : i + SHINGLE]) for i in range(len(ws) - SHINGLE + 1)}


def repeats(request: str, text: str) -> bool:
    """Does `text` hold `request` verbatim or near-verbatim?

    Verbatim: the request's words appear in order in the text (case, punctuation and spacing
    aside). Near-verbatim: at least half of the request's five-word runs appear in the text. A
    request shorter than three words is never found in a longer text (too short to be a copy).
    """
    req, txt = words(request), words(text)
    if not req:
        return False
    if req == txt:
        return True
    if len(req) < 3:
        return False
    if f" {' '.join(req)} " in f" {' '.join(txt)} ":
        return True
    mine = _shingles(req)
    if not mine:
        return False
    return len(mine & _shingles(txt)) / len(mine) >= NEAR


def same_request(a: str, b: str) -> bool:
    """Are two requests the same one (either repeats the other)?"""
    return repeats(a, b) or repeats(b, a)
