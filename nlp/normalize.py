"""Length-preserving normalisation: one original character → one normalised character.

full-width → half-width, upper → lower case, traditional → simplified (OpenCC t2s, character by character),
``叒`` (the cEHRNER space artefact) and the ideographic space → ASCII space. Because the mapping is one to one,
an offset into ``doc._.norm`` is the same offset into ``doc.text``.
"""
from __future__ import annotations

import threading

from spacy.language import Language
from spacy.tokens import Doc

from nlp.doc import doc_text

_SPECIAL = {0x3000: " ", ord("叒"): " ", 0x00A0: " ", ord("\t"): " ", ord("\r"): "\n"}


class _CharTable(dict):
    """A ``str.translate`` table filled lazily: each character is looked up once per process."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._t2s = None

    def _converter(self):
        if self._t2s is None:
            import opencc  # opencc-python-reimplemented; pure Python, loaded on first CJK character
            self._t2s = opencc.OpenCC("t2s")
        return self._t2s

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = _map_char(ch, self._converter)
        with self._lock:
            self[code] = out
        return out


def _map_char(ch: str, converter) -> str:
    code = ord(ch)
    if code in _SPECIAL:
        return _SPECIAL[code]
    if 0xFF01 <= code <= 0xFF5E:                       # full-width ASCII block
        ch = chr(code - 0xFEE0)
    low = ch.lower()
    if len(low) == 1:
        ch = low
    if 0x3400 <= ord(ch) <= 0x9FFF:
        simp = converter().convert(ch)
        if len(simp) == 1:
            ch = simp
    return ch


_TABLE = _CharTable()
for _c in range(0x20, 0x7F):                            # ASCII is cheap: pre-fill
    _TABLE[_c] = chr(_c).lower()


def normalize_text(text: str) -> str:
    """Return the normalised text, exactly as long as ``text``."""
    out = text.translate(_TABLE)
    if len(out) != len(text):                           # defensive: never break the offset contract
        raise AssertionError("normalisation must preserve length")
    return out


@Language.factory("aew_normalize", default_config={"overwrite": False})
def make_normalizer(nlp: Language, name: str, overwrite: bool) -> "Normalizer":
    """Fill ``doc._.norm``. ``overwrite``: recompute even when the tokenizer already filled it."""
    return Normalizer(overwrite=overwrite)


class Normalizer:
    def __init__(self, *, overwrite: bool = False) -> None:
        self.overwrite = overwrite

    def __call__(self, doc: Doc) -> Doc:
        if self.overwrite or doc._.norm is None or len(doc._.norm) != len(doc_text(doc)):
            doc._.norm = normalize_text(doc_text(doc))
        return doc
