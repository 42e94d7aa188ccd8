"""The event-sentence classifier: a tiny BERT (character vocabulary, trained from scratch by
``python -m nlp.classifier.train``) that scores whether a candidate sentence reports an adverse event that
happened to this patient in this stay. It re-scores the rule findings and vetoes the ones it is very sure
about; it never creates a finding on its own."""
from __future__ import annotations

import bisect
import json
import logging
import os
import threading
from pathlib import Path
from typing import Iterable

from spacy.language import Language
from spacy.tokens import Doc

from nlp.doc import doc_text
from nlp.normalize import normalize_text
from nlp.sentences import sentence_ranges
from nlp.types import Suppressed

log = logging.getLogger(__name__)
PAD, UNK, CLS = "[PAD]", "[UNK]", "[CLS]"
MAX_LEN = 64
_torch_lock = threading.Lock()


def encode(text: str, vocab: dict[str, int], max_len: int = MAX_LEN) -> list[int]:
    unk = vocab[UNK]
    return [vocab[CLS]] + [vocab.get(ch, unk) for ch in text[: max_len - 1]]


def sentence_window(norm: str, start: int, end: int, max_chars: int = MAX_LEN - 1) -> str:
    """The sentence around [start, end), cut to ``max_chars`` around the mention when longer."""
    sents = sentence_ranges(norm)
    i = max(0, bisect.bisect_right([s for s, _ in sents], start) - 1)
    s, e = sents[i] if sents else (0, len(norm))
    if e - s > max_chars:
        s = max(s, min(start - max_chars // 3, e - max_chars))
        e = min(e, s + max_chars)
    return norm[s:e]


class EventClassifier:
    def __init__(self, model, vocab: dict[str, int], manifest: dict) -> None:
        self.model = model.eval()
        self.vocab = vocab
        self.manifest = manifest
        self.version = str(manifest.get("version", "1"))

    @classmethod
    def load(cls, path: str | Path, *, threads: int | None = None) -> "EventClassifier":
        """Load a model folder written by the trainer (offline; never touches the network)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        from transformers import BertForSequenceClassification
        path = Path(path)
        for name in ("manifest.json", "vocab.json", "config.json"):
            if not (path / name).is_file():
                raise FileNotFoundError(f"event classifier file missing: {path / name}")
        if threads:
            torch.set_num_threads(threads)
        with open(path / "vocab.json", encoding="utf-8") as f:
            vocab = json.load(f)
        with open(path / "manifest.json", encoding="utf-8") as f:
            manifest = json.load(f)
        model = BertForSequenceClassification.from_pretrained(str(path), local_files_only=True)
        return cls(model, vocab, manifest)

    def predict(self, texts: list[str], batch_size: int = 64) -> list[float]:
        """P(event) for each (normalised) sentence."""
        import torch
        out: list[float] = []
        for i in range(0, len(texts), batch_size):
            ids = [encode(t, self.vocab) for t in texts[i:i + batch_size]]
            n = max(len(x) for x in ids)
            inp = torch.tensor([x + [self.vocab[PAD]] * (n - len(x)) for x in ids])
            mask = (inp != self.vocab[PAD]).long()
            with _torch_lock, torch.inference_mode():
                logits = self.model(input_ids=inp, attention_mask=mask).logits
            out.extend(torch.softmax(logits, -1)[:, 1].tolist())
        return out


@Language.factory("aew_event_classifier", default_config={"model_dir": "", "veto_below": 0.0, "weight": 0.4})
def make_event_classifier(nlp: Language, name: str, model_dir: str, veto_below: float,
                          weight: float) -> "EventClassifierStep":
    """``model_dir``: data/models/event-clf; ``veto_below``: a rule finding whose sentence scores below this is
    moved to the suppressed list; ``weight``: share of the classifier in the finding's confidence."""
    return EventClassifierStep(EventClassifier.load(model_dir), veto_below=veto_below, weight=weight)


class EventClassifierStep:
    def __init__(self, clf: EventClassifier, *, veto_below: float = 0.0, weight: float = 0.4) -> None:
        self.clf = clf
        self.veto_below = veto_below
        self.weight = weight
        self.version = clf.version

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 32):
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._score(batch)
                batch = []
        if batch:
            yield from self._score(batch)

    def _score(self, docs: list[Doc]):
        items = []
        for doc in docs:
            norm = doc._.norm if doc._.norm is not None else normalize_text(doc_text(doc))
            for f in doc._.findings or []:
                if f.kind == "event":
                    items.append((doc, f, sentence_window(norm, f.start, f.end)))
        probs = self.clf.predict([t for _, _, t in items]) if items else []
        for (doc, f, _), p in zip(items, probs):
            if p < self.veto_below:
                doc._.findings.remove(f)
                doc._.suppressed.append(Suppressed(f.category, f.start, f.end, f.evidence, "classifier",
                                                   f"event-clf-{self.version}"))
            else:
                f.confidence = round((1 - self.weight) * f.confidence + self.weight * p, 3)
        yield from docs
