"""Annotated documents, BIO labels and the sentence-end chunker shared by training and inference."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

ENTITY_TYPES = ("疾病和诊断", "症状", "手术", "药物", "解剖部位", "影像检查", "实验室检验")
LABELS = ("O",) + tuple(f"{p}-{t}" for t in ENTITY_TYPES for p in ("B", "I"))
LABEL2ID = {label: i for i, label in enumerate(LABELS)}

# Where a chunk may end, best first: sentence end, clause end, comma, anything.
_BREAKS = ("。!?", ";", ",、:", "")


@dataclass
class Document:
    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)   # (start, end, type), end exclusive
    id: str = ""


def read_corpus(path: str | Path) -> list[Document]:
    """Read cEHRNER-style JSON lines: {"text", "mention_data": [{"mention", "label", "offset"}]}.

    Also accepts the `aew ner` output shape ({"id", "text", "entities": [{"start", "end", "type"}]}).
    """
    docs: list[Document] = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            d = json.loads(line)
            text = d["text"]
            spans: list[tuple[int, int, str]] = []
            for m in d.get("mention_data", []):
                start = int(m["offset"])
                spans.append((start, start + len(m["mention"]), m["label"]))
            for e in d.get("entities", []):
                spans.append((int(e["start"]), int(e["end"]), e["type"]))
            for s, e, t in spans:
                if t not in ENTITY_TYPES or not 0 <= s < e <= len(text):
                    raise ValueError(f"{path}:{lineno}: bad entity {(s, e, t)}")
            docs.append(Document(text=text, spans=sorted(spans), id=str(d.get("id", lineno))))
    return docs


def bio_labels(length: int, spans: list[tuple[int, int, str]]) -> list[int]:
    """Label ids for each character (overlapping spans: the first one wins)."""
    labels = [0] * length
    for s, e, t in spans:
        if any(labels[s:e]):
            continue
        labels[s] = LABEL2ID[f"B-{t}"]
        for i in range(s + 1, e):
            labels[i] = LABEL2ID[f"I-{t}"]
    return labels


def chunk_bounds(text: str, max_len: int, spans: list[tuple[int, int, str]] = ()) -> list[tuple[int, int]]:
    """Cut `text` into pieces of at most `max_len` characters, at sentence ends where possible.

    Pieces are packed greedily: each ends at the last sentence end (else clause end, comma, any character)
    that fits, and never inside an annotated span when spans are given.
    """
    inside = [False] * (len(text) + 1)
    for s, e, _ in spans:
        for i in range(s + 1, e):
            inside[i] = True            # a cut at position i (between i-1 and i) would split the span
    bounds: list[tuple[int, int]] = []
    start = 0
    while start < len(text):
        if len(text) - start <= max_len:
            bounds.append((start, len(text)))
            break
        cut = None
        for marks in _BREAKS:
            for end in range(start + max_len, start, -1):
                if not inside[end] and (not marks or text[end - 1] in marks):
                    cut = end
                    break
            if cut is not None:
                break
        if cut is None:                  # a span longer than max_len: cut it
            cut = start + max_len
        bounds.append((start, cut))
        start = cut
    return bounds
