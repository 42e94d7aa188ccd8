"""Sentence splitting for Chinese clinical text: a sentence ends after 。！？；!?; or a line break,
and a new sentence starts at every section header. Sets ``token.is_sent_start``."""
from __future__ import annotations

import re

import numpy
from spacy.attrs import IDX, SENT_START

from spacy.language import Language
from spacy.tokens import Doc

from nlp.doc import doc_text

SENT_END = "。！？；!?;\n"
CLAUSE_END = SENT_END + "，,"
_SENT_RX = re.compile(r"[^。！？；!?;\n]+[。！？；!?;\n]*|[。！？；!?;\n]+")


MAX_SENTENCE_CHARS = 512        # a run-on "sentence" longer than this is cut into windows (see bounded_ranges)
_SOFT_BREAKS = "，,"


def sentence_ranges(norm: str) -> list[tuple[int, int]]:
    """(start, end) of every sentence of the normalised text (the terminator belongs to its sentence).

    A run-on sentence longer than MAX_SENTENCE_CHARS (a note with no 。) is cut into windows after a comma
    (or, with no comma, every MAX_SENTENCE_CHARS characters), so that every sentence-scoped step downstream
    does bounded work and a scan stays linear in the note's length. Ordinary sentences are left whole."""
    out: list[tuple[int, int]] = []
    for m in _SENT_RX.finditer(norm):
        out.extend(bounded_ranges(norm, m.start(), m.end()))
    return out


def bounded_ranges(norm: str, start: int, end: int, limit: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """[start, end) as one range, or as windows of at most `limit` characters cut after a comma when one is in
    the second half of the window."""
    out = []
    while end - start > limit:
        cut = max(norm.rfind(c, start + limit // 2, start + limit) for c in _SOFT_BREAKS)
        cut = cut + 1 if cut >= 0 else start + limit
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def clause_ranges(norm: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """(start, end) of the clauses (split also on commas and colons) inside [start, end)."""
    end = len(norm) if end is None else end
    out, s = [], start
    for i in range(start, end):
        if norm[i] in CLAUSE_END:
            out.append((s, i + 1))
            s = i + 1
    if s < end:
        out.append((s, end))
    return out


@Language.factory("aew_sentences", default_config={"split_on_sections": True})
def make_sentencizer(nlp: Language, name: str, split_on_sections: bool) -> "Sentencizer":
    """``split_on_sections``: also start a sentence at each section span (needs aew_sections before)."""
    return Sentencizer(split_on_sections=split_on_sections)


class Sentencizer:
    def __init__(self, *, split_on_sections: bool = True) -> None:
        self.split_on_sections = split_on_sections

    def __call__(self, doc: Doc) -> Doc:
        norm = doc._.norm if doc._.norm is not None else doc_text(doc)
        starts = {s for s, _ in sentence_ranges(norm)}
        if self.split_on_sections and "sections" in doc.spans:
            starts.update(sp.start_char for sp in doc.spans["sections"])
        if not len(doc):
            return doc
        idx = doc.to_array(IDX).tolist()                 # token start offsets, without walking Token objects
        flags = numpy.empty(len(doc), dtype="int32")      # 1 = starts a sentence, -1 = does not
        for i, at in enumerate(idx):
            flags[i] = 1 if i == 0 or at in starts or (norm[at - 1] in SENT_END and norm[at] not in SENT_END) else -1
        doc.from_array([SENT_START], flags.reshape(-1, 1).astype("uint64"))
        doc.user_data["aew_sent_starts"] = [at for at, f in zip(idx, flags.tolist()) if f == 1]
        return doc
