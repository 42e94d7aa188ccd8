"""Lexicon entities: Aho-Corasick (pyahocorasick) over the versioned TSV lexicons in ``data/lexicons/``.

A lexicon file starts with ``#`` header lines that must include ``version:``, ``source:`` and ``licence:``
(and may say ``precedence: low``: a derived lexicon, e.g. cmekg_drugs.tsv, is loaded after the project's own
ones, so a term listed in both keeps the own lexicon's type and attributes); then ``term<TAB>type<TAB>attributes``
lines (attributes ``key=value;key=value``, optional). Matching runs on the normalised text (so full-width /
traditional / upper-case input matches too); the longest, leftmost non-overlapping hits win. Writes
``doc.spans["entities"]`` with ``span._.source = "lexicon"``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick
from spacy.language import Language
from spacy.tokens import Doc

from nlp.doc import doc_text
from nlp.normalize import normalize_text

ENTITY_TYPES = {"疾病和诊断", "症状", "手术", "药物", "解剖部位", "影像检查", "实验室检验", "器械管路"}
REQUIRED_HEADERS = ("version", "source", "licence")
_ASCII_WORD = re.compile(r"[a-z0-9]")


@dataclass(frozen=True)
class LexiconHit:
    start: int
    end: int
    type: str
    term: str
    attrs: dict = field(default_factory=dict, compare=False, hash=False)


def read_header(path: Path) -> dict[str, str]:
    meta = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            key, _, value = line[1:].partition(":")
            meta[key.strip()] = value.strip()
    return meta


def read_word_list(path: Path) -> list[str]:
    """A header-commented word list (one word a line), e.g. the THUOCL-derived jieba words."""
    meta = read_header(path)
    missing = [k for k in REQUIRED_HEADERS if k not in meta]
    if missing:
        raise ValueError(f"{path}: header lacks {missing}")
    with path.open(encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def read_lexicon_rows(path: Path) -> list[tuple[str, str, dict[str, str]]]:
    """(normalised term, entity type, attributes) of every row of one lexicon file; a malformed row is an error
    naming the file and line."""
    rows = []
    with Path(path).open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 2 or not parts[0].strip():
                raise ValueError(f"{path}:{n}: expected term<TAB>type[<TAB>attributes]")
            term, etype = normalize_text(parts[0].strip()), parts[1].strip()
            if etype not in ENTITY_TYPES:
                raise ValueError(f"{path}:{n}: unknown entity type {etype!r}")
            attrs = {}
            if len(parts) > 2 and parts[2].strip():
                for kv in parts[2].split(";"):
                    k, sep, v = kv.partition("=")
                    if not sep:
                        raise ValueError(f"{path}:{n}: attribute {kv!r} is not key=value")
                    attrs[k.strip()] = v.strip()
            rows.append((term, etype, attrs))
    return rows


class Lexicon:
    """All lexicon files of a folder, as one automaton."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        files = sorted(self.folder.glob("*.tsv"))
        if not files:
            raise FileNotFoundError(f"no lexicon files (*.tsv) in {self.folder}")
        metas = {path: read_header(path) for path in files}
        files.sort(key=lambda path: metas[path].get("precedence", "").startswith("low"))   # stable: own files first
        self.versions: dict[str, str] = {}
        self.terms: dict[str, tuple[str, dict]] = {}
        for path in files:
            meta = metas[path]
            missing = [k for k in REQUIRED_HEADERS if k not in meta]
            if missing:
                raise ValueError(f"{path}: header lacks {missing} (need # version:, # source:, # licence:)")
            self.versions[path.stem] = meta["version"]
            for term, etype, attrs in read_lexicon_rows(path):
                self.terms.setdefault(term, (etype, attrs))
        self.automaton = ahocorasick.Automaton()
        for term, (etype, attrs) in self.terms.items():
            self.automaton.add_word(term, (len(term), term, etype, attrs))
        self.automaton.make_automaton()

    @property
    def version(self) -> str:
        return max(self.versions.values()) if self.versions else "0"

    def words(self) -> list[str]:
        return list(self.terms)

    def match(self, norm: str) -> list[LexiconHit]:
        """Longest leftmost non-overlapping hits in the normalised text; Latin terms only on word edges."""
        cands = []
        for end_idx, (n, term, etype, attrs) in self.automaton.iter(norm):
            start, end = end_idx - n + 1, end_idx + 1
            if _ASCII_WORD.match(term[0]) and start > 0 and _ASCII_WORD.match(norm[start - 1]):
                continue
            if _ASCII_WORD.match(term[-1]) and end < len(norm) and _ASCII_WORD.match(norm[end]):
                continue
            cands.append((start, -(end - start), end, term, etype, attrs))
        cands.sort()
        out, last_end = [], 0
        for start, _, end, term, etype, attrs in cands:
            if start >= last_end:
                out.append(LexiconHit(start, end, etype, term, attrs))
                last_end = end
        return out

    def boundaries(self, norm: str) -> list[int]:
        """Token edges the tokenizer must respect so that every lexicon hit is a whole-token span."""
        out = []
        for h in self.match(norm):
            out.extend((h.start, h.end))
        return out


@Language.factory("aew_lexicon", default_config={"lexicon_dir": ""})
def make_lexicon_matcher(nlp: Language, name: str, lexicon_dir: str) -> "LexiconMatcher":
    """``lexicon_dir``: the folder of *.tsv lexicons (data/lexicons)."""
    return LexiconMatcher(Lexicon(lexicon_dir))


class LexiconMatcher:
    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon

    def __call__(self, doc: Doc) -> Doc:
        norm = doc._.norm if doc._.norm is not None else normalize_text(doc_text(doc))
        spans = list(doc.spans["entities"]) if "entities" in doc.spans else []
        cached = doc.user_data.get("aew_lexicon_hits")
        hits = cached[1] if cached is not None and cached[0] == norm else self.lexicon.match(norm)
        for h in hits:
            span = doc.char_span(h.start, h.end, label=h.type, alignment_mode="expand")
            if span is None:
                continue
            span._.source = "lexicon"
            span._.attrs = {**h.attrs, "start": h.start, "end": h.end, "term": h.term}
            spans.append(span)
        doc.spans["entities"] = spans
        return doc
