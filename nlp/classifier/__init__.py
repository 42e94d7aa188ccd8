"""The event classifier: a small character BERT (masked-LM pre-trained, then fine-tuned by ``aew train-clf`` on a
corpus written for it) that says which of the 18 event categories a sentence reports.

In the pipeline it runs before the context rules (``aew_event_classifier``): every sentence window of the note is
scored; where the model is confident it adds an event candidate of its own (anchored at the clause it likes best,
explained as the model's finding), which then meets the same context rules, exclusions and severity grading as the
rule candidates; and it blends its probability into the confidence of the rule candidates."""
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

from nlp.classifier.data import windows
from nlp.context import set_span_attrs, span_attrs
from nlp.doc import doc_text
from nlp.normalize import normalize_text
from nlp.sentences import CLAUSE_END, clause_ranges, sentence_ranges

log = logging.getLogger(__name__)
PAD, UNK, CLS, MASK = "[PAD]", "[UNK]", "[CLS]", "[MASK]"
MAX_LEN = 96
_torch_lock = threading.Lock()
_STRIP = CLAUSE_END + " ：:、"


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


NONE = "none"


def _event_model_class():
    """The network (built on first use, so importing this module does not import torch)."""
    global _EventModel
    if _EventModel is None:
        import torch
        from transformers import BertConfig, BertModel

        class EventModel(torch.nn.Module):
            """A BERT encoder, mean-pooled over the characters, and a linear layer over none + 18 categories."""

            def __init__(self, config: BertConfig, n_out: int) -> None:
                super().__init__()
                self.config = config
                self.bert = BertModel(config, add_pooling_layer=False)
                self.dropout = torch.nn.Dropout(config.hidden_dropout_prob)
                self.head = torch.nn.Linear(config.hidden_size, n_out)

            def forward(self, input_ids, attention_mask):
                h = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(h.dtype)
                pooled = (h * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                return self.head(self.dropout(pooled))

            def save(self, path: Path) -> None:
                from safetensors.torch import save_file
                path.mkdir(parents=True, exist_ok=True)
                cfg = self.config.to_dict()
                cfg["n_out"] = self.head.out_features
                (path / "config.json").write_text(json.dumps(cfg, indent=2), encoding="utf-8")
                save_file({k: v.contiguous() for k, v in self.state_dict().items()}, str(path / "model.safetensors"))

            @classmethod
            def load(cls, path: Path) -> "EventModel":
                from safetensors.torch import load_file
                cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
                n_out = cfg.pop("n_out")
                model = cls(BertConfig(**cfg), n_out)
                model.load_state_dict(load_file(str(path / "model.safetensors")))
                return model

        _EventModel = EventModel
    return _EventModel


_EventModel = None


def __getattr__(name: str):
    if name == "EventModel":
        return _event_model_class()
    raise AttributeError(name)


class EventClassifier:
    def __init__(self, model, vocab: dict[str, int], manifest: dict, cues: frozenset[str] | None = None) -> None:
        self.cues = cues
        self.model = model.eval()
        self.vocab = vocab
        self.manifest = manifest
        self.version = str(manifest.get("version", "1"))
        self.max_len = min(MAX_LEN, int(model.config.max_position_embeddings))

    @classmethod
    def load(cls, path: str | Path, *, threads: int | None = None) -> "EventClassifier":
        """Load a model folder written by the trainer (offline; never touches the network)."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
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
        model = _event_model_class().load(path)
        cues = None
        if (path / "cues.json").is_file():
            with open(path / "cues.json", encoding="utf-8") as f:
                cues = frozenset(json.load(f))
        return cls(model, vocab, manifest, cues)

    def has_cue(self, text: str) -> bool:
        """Whether the window holds one of the model's cue bigrams (always true for a model without cues)."""
        if self.cues is None:
            return True
        cues = self.cues
        return any(text[i:i + 2] in cues for i in range(len(text) - 1))

    @property
    def labels(self) -> list[str]:
        return list(self.manifest.get("labels") or [])

    def predict(self, texts: list[str], batch_size: int = 64) -> list[dict[str, float]]:
        """{category: P(the sentence reports it)} for each normalised sentence. Sorted by length into batches,
        so little padding is computed."""
        import torch
        out: list[dict[str, float] | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        labels = self.labels
        for i in range(0, len(order), batch_size):
            part = order[i:i + batch_size]
            ids = [encode(texts[j], self.vocab, self.max_len) for j in part]
            n = max(len(x) for x in ids)
            inp = torch.tensor([x + [self.vocab[PAD]] * (n - len(x)) for x in ids])
            mask = (inp != self.vocab[PAD]).long()
            with _torch_lock, torch.inference_mode():
                probs = torch.softmax(self.model(inp, mask), -1)[:, 1:].tolist()      # column 0 is "none"
            for j, row in zip(part, probs):
                out[j] = dict(zip(labels, row))
        return out  # type: ignore[return-value]


@Language.factory("aew_event_classifier", default_config={"model_dir": "", "raise_at": 0.85, "weight": 0.4,
                                                           "veto_below": 0.0, "confirm_at": 0.5})
def make_event_classifier(nlp: Language, name: str, model_dir: str, raise_at: float, weight: float,
                          veto_below: float, confirm_at: float) -> "EventClassifierStep":
    """``model_dir``: data/models/event-clf; ``raise_at``: the model adds a candidate of its own for a category it
    gives at least this probability (1.0 or more: never); ``weight``: share of the model in a rule candidate's
    confidence; ``veto_below``: a rule candidate whose sentence the model scores below this for its category is
    dropped (0: never); ``confirm_at``: the clause the model points at must itself score at least this (scored
    with the clause before it), or the window-level score is not trusted."""
    return EventClassifierStep(EventClassifier.load(model_dir), raise_at=raise_at, weight=weight,
                               veto_below=veto_below, confirm_at=confirm_at)


def _trim(norm: str, s: int, e: int) -> tuple[int, int]:
    while s < e and norm[s] in _STRIP:
        s += 1
    while e > s and norm[e - 1] in _STRIP:
        e -= 1
    return s, e


class EventClassifierStep:
    """Runs after ``aew_event_candidates`` and before ``aew_context``."""

    def __init__(self, clf: EventClassifier, *, raise_at: float = 0.9, weight: float = 0.4,
                 veto_below: float = 0.0, confirm_at: float = 0.5) -> None:
        self.clf = clf
        self.raise_at = raise_at
        self.confirm_at = confirm_at
        self.weight = weight
        self.veto_below = veto_below
        self.version = clf.version
        self.trigger = f"model-event-clf-{self.version}"

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int = 16):
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._score(batch)
                batch = []
        if batch:
            yield from self._score(batch)

    def _score(self, docs: list[Doc]):
        items = []                                          # (doc index, start, end)
        norms = []
        for i, doc in enumerate(docs):
            norm = doc._.norm if doc._.norm is not None else normalize_text(doc_text(doc))
            norms.append(norm)
            items += [(i, s, e) for s, e in windows(norm) if self.clf.has_cue(norm[s:e])]
        probs = self.clf.predict([norms[i][s:e] for i, s, e in items]) if items else []
        per_doc: dict[int, list] = {}
        for (i, s, e), p in zip(items, probs):
            per_doc.setdefault(i, []).append((s, e, p))
        for i, doc in enumerate(docs):
            self._apply(doc, norms[i], per_doc.get(i, []))
        yield from docs

    def _apply(self, doc: Doc, norm: str, scored: list) -> None:
        spans = list(doc.spans["event_candidates"]) if "event_candidates" in doc.spans else []
        starts = [s for s, _, _ in scored]
        kept = []
        for span in spans:                       # blend the model into the rule candidates' confidence
            at = dict(span_attrs(span))
            j = bisect.bisect_right(starts, at["anchor_start"]) - 1
            if j >= 0 and at["anchor_start"] < scored[j][1] and at.get("category") in scored[j][2]:
                p = scored[j][2][at["category"]]
                if p < self.veto_below:
                    continue
                at["confidence"] = round((1 - self.weight) * at["confidence"] + self.weight * p, 3)
                at["model_p"] = round(p, 3)
                set_span_attrs(span, at)
            kept.append(span)
        found = {span_attrs(sp).get("category") for sp in kept}
        raised: dict[str, tuple] = {}
        for s, e, p in scored:
            for cat, pc in p.items():
                if pc >= self.raise_at and (cat not in raised or pc > raised[cat][0]):
                    raised[cat] = (pc, s, e)
        for cat, (pc, s, e) in sorted(raised.items()):
            a0, a1, pa = self._anchor(norm, s, e, cat, pc)
            if pa < self.confirm_at:         # no clause of the window says it: the window as a whole misled the model
                continue
            span = doc.char_span(a0, a1, label=cat, alignment_mode="expand")
            if span is None:
                continue
            span._.source = "model"
            set_span_attrs(span, {"category": cat, "trigger": self.trigger, "confidence": round(0.9 * pc, 3),
                                  "start": a0, "end": a1, "anchor_start": a0, "anchor_end": a1,
                                  "model_p": round(pc, 3), "also_rule": cat in found})
            kept.append(span)
        doc.spans["event_candidates"] = kept

    def _anchor(self, norm: str, s: int, e: int, cat: str, p_window: float) -> tuple[int, int, float]:
        """The clause of the window that the model scores highest for the category (the window when it has one),
        with that clause's score."""
        clauses = [_trim(norm, a, b) for a, b in clause_ranges(norm, s, e)]
        clauses = [(a, b) for a, b in clauses if b - a >= 2]
        if len(clauses) <= 1:
            return (*(clauses[0] if clauses else _trim(norm, s, e)), p_window)
        # a clause alone loses its subject and time; score each clause with the one before it
        texts = [norm[clauses[max(0, k - 1)][0]:b] for k, (_, b) in enumerate(clauses)]
        ps = [p[cat] for p in self.clf.predict(texts)]
        k = max(range(len(clauses)), key=lambda k: ps[k])
        return (*clauses[k], ps[k])
