"""Training data of the event classifier: the labelled corpus written for it (``data/corpus/events/``).

Two kinds of JSON Lines files, written by independent writers in many voices who never saw our rules:

- ``*_sentences.jsonl``: ``{"text": "...", "labels": ["fall"]}`` — one sentence or clause, labels [] for none;
- ``*_notes.jsonl``: ``{"text": "...", "note_type": "...", "events": [{"category": "fall", "evidence": "..."}]}``
  — a whole note; each evidence is an exact substring. The note is cut into sentence windows as the scanner cuts
  them; a window that overlaps an evidence carries its category, every other window is a negative.

The corpus is never used to report a detection figure (the blind sets in ``tests/data/blind/`` are).
"""
from __future__ import annotations

import json
from pathlib import Path

from nlp.normalize import normalize_text
from nlp.sentences import clause_ranges, sentence_ranges

WINDOW = 95            # characters of one classifier input (MAX_LEN - 1)


def windows(norm: str, max_chars: int = WINDOW) -> list[tuple[int, int]]:
    """The inputs of one note: its sentences, a long sentence cut at clause ends into pieces of at most
    ``max_chars`` (a clause longer than that is cut hard). Empty and punctuation-only pieces are dropped."""
    out = []
    for s, e in sentence_ranges(norm):
        if e - s <= max_chars:
            out.append((s, e))
            continue
        a = s
        b = s
        for c0, c1 in clause_ranges(norm, s, e):
            if c1 - a > max_chars and b > a:
                out.append((a, b))
                a = b
            while c1 - a > max_chars:
                out.append((a, a + max_chars))
                a += max_chars
            b = c1
        if b > a:
            out.append((a, b))
    return [(s, e) for s, e in out if sum(ch.isalnum() for ch in norm[s:e]) >= 3]


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def note_examples(note: dict) -> list[tuple[str, list[str]]]:
    norm = normalize_text(note["text"])
    spans = []
    for ev in note.get("events") or []:
        ev_norm = normalize_text(ev["evidence"])
        i = norm.find(ev_norm)
        if i >= 0:
            spans.append((i, i + len(ev_norm), ev["category"]))
    out = []
    for s, e in windows(norm):
        cats = sorted({c for a, b, c in spans if a < e and s < b})
        out.append((norm[s:e], cats))
    return out


def load_corpus(folder: str | Path, categories: list[str]) -> list[tuple[str, list[str], str]]:
    """(normalised text, categories, source file) of every example; unknown categories are an error."""
    known = set(categories)
    out = []
    for path in sorted(Path(folder).glob("*.jsonl")):
        for i, row in enumerate(read_jsonl(path)):
            if "events" in row:
                items = note_examples(row)
            else:
                items = [(normalize_text(row["text"]), sorted(set(row.get("labels") or [])))]
            for text, cats in items:
                bad = set(cats) - known
                if bad:
                    raise ValueError(f"{path}:{i + 1}: unknown categories {sorted(bad)}")
                out.append((text, cats, path.name))
    return out
