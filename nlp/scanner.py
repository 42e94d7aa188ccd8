"""``Scanner``: the pipeline loaded once; notes in, findings out (the scan contract)."""
from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Iterable, Iterator, Sequence

from spacy.tokens import Doc

import nlp.doc  # noqa: F401
from nlp.pipeline import DEFAULT_DATA_DIR, build_pipeline, data_paths
from nlp.rulefiles import load_yaml
from nlp.types import Entity, NoteInput, ScanResult

log = logging.getLogger(__name__)


DATA_PARTS = ("rules", "lexicons", "knowledge")


def data_digest(data_dir: str | Path) -> str:
    """12 hex digits of sha256 over every rule, lexicon and knowledge file (names and bytes): any edit a
    quality manager makes to a rule or table gives findings a new scanner version, so a changed result can be
    traced to the data that changed."""
    h = hashlib.sha256()
    root = Path(data_dir)
    for part in DATA_PARTS:
        for f in sorted((root / part).rglob("*")):
            if f.is_file() and "__pycache__" not in f.parts:
                h.update(str(f.relative_to(root)).encode("utf-8") + b"\0")
                h.update(f.read_bytes())
    return h.hexdigest()[:12]


class Scanner:
    """Loads everything once; ``scan`` one note, ``scan_many`` a stream, ``entities`` for `aew ner`."""

    def __init__(self, data_dir: str | Path | None = None, *, use_ner_model: bool = True,
                 use_classifier: bool = True, torch_threads: int | None = None) -> None:
        self.data_dir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
        self.nlp = build_pipeline(self.data_dir, use_ner_model=use_ner_model, use_classifier=use_classifier)
        if use_ner_model or use_classifier:
            _limit_torch_threads(torch_threads)
        self.version = self._version()

    def _version(self) -> str:
        p = data_paths(self.data_dir)
        parts = [f"rules-{load_yaml(p['context'])['version']}"]
        if "aew_event_classifier" in self.nlp.pipe_names:
            parts.append(f"clf-{self.nlp.get_pipe('aew_event_classifier').version}")
        if "aew_ner_model" in self.nlp.pipe_names:
            m = getattr(self.nlp.get_pipe("aew_ner_model").tagger, "manifest", None) or {}
            parts.append(f"ner-{m.get('version', 1)}")
        parts.append(f"data-{data_digest(self.data_dir)}")
        return "+".join(parts)

    def _doc(self, note: NoteInput, history: Sequence[NoteInput]) -> Doc:
        doc = self.nlp.make_doc(note.text)
        doc._.note = note
        doc._.history = list(history)
        doc._.findings = []
        doc._.suppressed = []
        return doc

    @staticmethod
    def _result(note: NoteInput, doc: Doc) -> ScanResult:
        findings = sorted(doc._.findings or [], key=lambda f: (f.start, f.kind, f.category))
        return ScanResult(note_id=note.id, findings=findings, suppressed=list(doc._.suppressed or []))

    def scan(self, note: NoteInput, history: Sequence[NoteInput] = ()) -> ScanResult:
        """Findings of one note; ``history``: earlier notes of the same encounter, oldest first."""
        doc = self._doc(note, history)
        for _, proc in self.nlp.pipeline:
            doc = proc(doc)
        return self._result(note, doc)

    def scan_many(self, notes: Iterable[NoteInput], *, batch_size: int = 32) -> Iterator[ScanResult]:
        """Results in input order; each note's history is the earlier notes (by ``time``) of its encounter."""
        notes = list(notes)
        histories = encounter_histories(notes)
        docs = (self._doc(n, h) for n, h in zip(notes, histories))
        for note, doc in zip(notes, self.nlp.pipe(docs, batch_size=batch_size)):
            yield self._result(note, doc)

    def entities(self, text: str, *, internal_types: bool = False) -> list[Entity]:
        """Lexicon + model entities with offsets into ``text``: the CCKS 2019 types plus 症状; with
        ``internal_types`` also the pipeline's own 器械管路 (devices, lines, tubes)."""
        doc = self.nlp.make_doc(text)
        for name, proc in self.nlp.pipeline:
            if name in ("aew_normalize", "aew_sentences", "aew_lexicon"):
                doc = proc(doc)
            elif name == "aew_ner_model":
                doc = proc.tag_all(doc)
        out = []
        for s in doc.spans["entities"] if "entities" in doc.spans else []:
            at = s._.attrs or {}
            a, b = at.get("start", s.start_char), at.get("end", s.end_char)
            if s.label_ == "器械管路" and not internal_types:
                continue
            out.append(Entity(a, b, s.label_, text[a:b], source=s._.source))
        return sorted(out, key=lambda e: (e.start, e.end))


def encounter_histories(notes: Sequence[NoteInput]) -> list[list[NoteInput]]:
    """For each note, the other notes of its encounter that come before it: by ``time`` when both have one,
    else by input order; oldest first."""
    by_enc: dict[str, list[int]] = {}
    for i, n in enumerate(notes):
        if n.encounter_id:
            by_enc.setdefault(n.encounter_id, []).append(i)

    def key(i: int):
        t = notes[i].time
        return (t or "", i)

    out: list[list[NoteInput]] = []
    for i, n in enumerate(notes):
        if not n.encounter_id:
            out.append([])
            continue
        earlier = []
        for j in by_enc[n.encounter_id]:
            if j == i:
                continue
            a, b = notes[j].time, n.time
            if (a and b and (a, j) < (b, i)) or (not (a and b) and j < i):
                earlier.append(j)
        out.append([notes[j] for j in sorted(earlier, key=key)])
    return out


_cached: dict[str, Scanner] = {}
_cache_lock = threading.Lock()


def get_scanner(data_dir: str | Path | None = None) -> Scanner:
    """The process-wide Scanner for a data directory (built on first use, thread-safe)."""
    key = str(Path(data_dir).resolve() if data_dir else DEFAULT_DATA_DIR)
    with _cache_lock:
        if key not in _cached:
            _cached[key] = Scanner(data_dir)
        return _cached[key]


def _limit_torch_threads(threads: int | None) -> None:
    """The models run on short sentences: one intra-op thread is fastest, and several threads spin-wait against
    the API, the other workers and other processes on a small machine (measured: a 56-character sentence took
    ~100 ms with torch's default threads on a busy 2-core machine). AEW_TORCH_THREADS overrides."""
    import os
    n = threads or int(os.environ.get("AEW_TORCH_THREADS", "1"))
    try:
        import torch
    except ImportError:
        return
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
