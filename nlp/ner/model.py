"""The character vocabulary, the BERT configuration (built in code, never downloaded) and BIO decoding."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch

from nlp.ner.corpus import ENTITY_TYPES, LABELS

PAD, UNK, MASK = "[PAD]", "[UNK]", "[MASK]"
SPECIALS = (PAD, UNK, MASK)
VOCAB_FILE = "vocab.json"


def build_vocab(texts: list[str], min_count: int = 1) -> dict[str, int]:
    """char → id: the special tokens first, then characters by falling frequency (ties by code point)."""
    counts = Counter(ch for t in texts for ch in t)
    chars = sorted((c for c, n in counts.items() if n >= min_count), key=lambda c: (-counts[c], c))
    return {tok: i for i, tok in enumerate(list(SPECIALS) + chars)}


def save_vocab(vocab: dict[str, int], directory: Path) -> None:
    with open(directory / VOCAB_FILE, "w", encoding="utf-8") as fh:
        json.dump(vocab, fh, ensure_ascii=False, indent=0)


def load_vocab(directory: Path) -> dict[str, int]:
    with open(directory / VOCAB_FILE, encoding="utf-8") as fh:
        vocab = json.load(fh)
    if any(tok not in vocab for tok in SPECIALS):
        raise ValueError(f"{directory / VOCAB_FILE}: special tokens {SPECIALS} missing")
    return vocab


def encode(text: str, vocab: dict[str, int]) -> list[int]:
    """Ids of the (already normalised) characters of `text`; unknown characters → [UNK]."""
    unk = vocab[UNK]
    return [vocab.get(ch, unk) for ch in text]


def build_config(vocab_size: int, *, hidden: int, layers: int, heads: int, intermediate: int,
                 max_len: int, dropout: float):
    """A small BertConfig for the 15 BIO labels (no hub, no files)."""
    from transformers import BertConfig
    return BertConfig(
        vocab_size=vocab_size, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate, max_position_embeddings=max_len, type_vocab_size=1,
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout, pad_token_id=0,
        num_labels=len(LABELS), id2label=dict(enumerate(LABELS)),
        label2id={label: i for i, label in enumerate(LABELS)},
    )


def _allowed_transitions() -> tuple[torch.Tensor, torch.Tensor]:
    """BIO constraints: I-X only after B-X or I-X, never first."""
    n = len(LABELS)
    allowed = torch.ones(n, n, dtype=torch.bool)          # [previous, next]
    start = torch.ones(n, dtype=torch.bool)
    for j, label in enumerate(LABELS):
        if label.startswith("I-"):
            t = label[2:]
            start[j] = False
            for i, prev in enumerate(LABELS):
                allowed[i, j] = prev in (f"B-{t}", f"I-{t}")
    return allowed, start


_ALLOWED, _START = _allowed_transitions()


def viterbi_decode(log_probs: torch.Tensor, lengths: list[int], *, trans: torch.Tensor | None = None,
                   start: torch.Tensor | None = None, end: torch.Tensor | None = None,
                   neg: float = -1e9) -> list[list[int]]:
    """Best BIO-valid label path per sequence from per-character scores [B, L, C]; a CRF passes its learned
    transition, start and end scores (forbidden BIO moves are masked either way)."""
    zero = torch.zeros((), dtype=log_probs.dtype)
    bad = torch.tensor(neg, dtype=log_probs.dtype)
    trans = torch.where(_ALLOWED, zero if trans is None else trans, bad)   # [prev, next]
    score = log_probs[:, 0] + torch.where(_START, zero if start is None else start, bad)
    scores, backpointers = [score], []
    for i in range(1, log_probs.shape[1]):
        best, idx = (score.unsqueeze(2) + trans.unsqueeze(0)).max(dim=1)   # over prev
        backpointers.append(idx)
        score = best + log_probs[:, i]
        scores.append(score)
    paths = []
    for b, length in enumerate(lengths):
        if length == 0:
            paths.append([])
            continue
        last = scores[length - 1][b] if end is None else scores[length - 1][b] + end
        label = int(last.argmax())   # padding after `length` never reaches back here
        path = [label]
        for i in range(length - 1, 0, -1):
            label = int(backpointers[i - 1][b, label])
            path.append(label)
        paths.append(path[::-1])
    return paths


def spans_from_labels(labels: list[int]) -> list[tuple[int, int, str]]:
    """(start, end, type) of each B-X I-X* run."""
    spans = []
    i = 0
    while i < len(labels):
        label = LABELS[labels[i]]
        if label.startswith("B-"):
            t = label[2:]
            j = i + 1
            while j < len(labels) and LABELS[labels[j]] == f"I-{t}":
                j += 1
            spans.append((i, j, t))
            i = j
        else:
            i += 1
    return spans


assert set(ENTITY_TYPES) == {label[2:] for label in LABELS if label != "O"}
