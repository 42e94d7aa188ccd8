"""Character-by-character normalisation to the form of the training corpus.

The cEHRNER training text is lower-case, half-width, simplified, with `叒` for a space. Real EMR text is
not. Every character maps to exactly one character, so offsets into the normalised text ARE offsets into
the original text: no mapping table is needed, and `text[start:end]` of the original is the entity text.
"""
from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

SPACE_MARK = "叒"


@functools.lru_cache(maxsize=1)
def _traditional_to_simplified() -> dict[str, str]:
    """Single-character traditional→simplified pairs from OpenCC's TSCharacters table (first choice)."""
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a declared dependency
        return {}
    table = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    pairs: dict[str, str] = {}
    with open(table, encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 2 or len(parts[0]) != 1:
                continue
            target = parts[1].split(" ")[0]
            if len(target) == 1 and target != parts[0]:
                pairs[parts[0]] = target
    return pairs


@functools.lru_cache(maxsize=65536)
def normalize_char(ch: str) -> str:
    """One character in, one character out (full-width→half-width, lower case, traditional→simplified)."""
    if ch.isspace():
        return SPACE_MARK
    out = unicodedata.normalize("NFKC", ch)
    if len(out) != 1:               # ㎝ → "cm", ℃ → "°c": keep the single original character
        out = ch
    if out.isspace():
        return SPACE_MARK
    low = out.lower()
    if len(low) == 1:               # "İ".lower() is two characters: keep the original then
        out = low
    return _traditional_to_simplified().get(out, out)


def normalize(text: str) -> str:
    """Normalise `text` character by character; the result has the same length as `text`."""
    return "".join(normalize_char(ch) for ch in text)
