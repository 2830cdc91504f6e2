"""The order Claude Code lists agent names in, per CLI version (measured with the real CLI).

Both measured versions compare like JavaScript's `localeCompare`: punctuation before digits before
letters, letters case-blind first and lower case first at a tie, unlike Python's `sorted`. They
differ beyond ASCII: 2.1.332 sorts every non-ASCII character after every ASCII one, by code point
(`zeta, Éclair`); 2.1.197 reads an accented letter as its base letter, the accent deciding only
a tie (`beta1, Éclair, zeta`).
"""

from __future__ import annotations

import unicodedata

Key = tuple[tuple[int, ...], ...]

# ASCII in the order of the Unicode root collation: spaces and punctuation, symbols, digits,
# then letters. Other control characters are ignored.
_ASCII_ORDER = "\t\n\v\f\r _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789abcdefghijklmnopqrstuvwxyz"
_WEIGHT = {c: i for i, c in enumerate(_ASCII_ORDER)}


def collation_key(name: str) -> Key:
    """2.1.332's order: `beta, Beta, beta_x, beta-x, beta.x, beta1, zeta, Éclair`."""
    return _key(name, fold_accents=False)


def accent_folding_key(name: str) -> Key:
    """2.1.197's order: as `collation_key`, but `Éclair` sorts as `Eclair` (after it at a tie)."""
    return _key(name, fold_accents=True)


def _key(name: str, *, fold_accents: bool) -> Key:
    primary: list[int] = []
    accents: list[int] = []
    tertiary: list[int] = []
    for c in name:
        accent = 0
        if fold_accents and not c.isascii():
            decomposed = unicodedata.normalize("NFD", c)
            if decomposed[0].isascii() and decomposed[0] != c:
                c, accent = decomposed[0], 1
        low = c.lower() if c.isascii() else c
        if low in _WEIGHT:
            primary.append(_WEIGHT[low])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            continue
        else:
            primary.append(len(_ASCII_ORDER) + ord(c))
        accents.append(accent)
        tertiary.append(1 if c.isascii() and c.isupper() else 0)
    return tuple(primary), tuple(accents), tuple(tertiary)
