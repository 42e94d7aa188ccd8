"""Character-level BERT token classifier for Chinese clinical entities (trained by `aew train-ner`).

    tagger = NerTagger.load("data/models/ner-zh")
    tagger.predict(["予阿莫西林胶囊0.5g口服"])  # [[Entity(start=1, end=7, type="药物", ...)]]

Input is normalised inside (full-width→half-width, lower case, traditional→simplified, spaces→`叒`), one
character for one character, so the offsets index the ORIGINAL texts.

Two model kinds load: "hybrid" (config.json has `"ner_arch": "hybrid"`; BertModel over char + bigram +
lexicon embeddings, BiLSTM, CRF — nlp/ner/hybrid.py; the shipped one) and a plain
BertForTokenClassification directory. Long texts are cut at sentence ends
into windows of the model's length. torch and transformers are imported only when a model is loaded.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nlp.types import Entity

__all__ = ["NerTagger", "MODEL_FILES"]

MODEL_FILES = ("config.json", "model.safetensors", "vocab.json")
MANIFEST = "manifest.json"


class NerTagger:
    """A loaded model: normalise → window → batch → constrained BIO decode → entities."""

    def __init__(self, model: Any, vocab: dict[str, int], *, max_len: int, manifest: dict | None = None,
                 quantized: bool = False, features: Any = None):
        self.model = model.eval()
        self.features = features            # a hybrid.Featurizer for the "hybrid" model kind, else None
        self.vocab = vocab
        self.max_len = max_len
        self.manifest = manifest or {}
        self.quantized = quantized

    @classmethod
    def load(cls, path: str | Path, *, threads: int | None = None, quantize: bool | None = None) -> "NerTagger":
        """Load a model directory written by `aew train-ner`; never touches the network.

        threads: torch intra-op threads (process-wide); None leaves torch's setting.
        quantize: int8 dynamic quantisation of the linear layers; None = what the manifest recommends.
        """
        path = Path(path)
        from nlp.ner.hybrid import HYBRID_FILES, is_hybrid
        hybrid = is_hybrid(path)
        missing = [f for f in (HYBRID_FILES if hybrid else MODEL_FILES) if not (path / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"NER model not found: {path} lacks {', '.join(missing)} — train one with "
                f"`aew train-ner --train TRAIN.json --dev DEV.json --out {path}`")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from transformers import BertForTokenClassification
        from transformers.utils import logging as hf_logging

        from nlp.ner.model import load_vocab

        if threads:
            torch.set_num_threads(threads)
        manifest: dict = {}
        if (path / MANIFEST).is_file():
            with open(path / MANIFEST, encoding="utf-8") as fh:
                manifest = json.load(fh)
        hf_logging.disable_progress_bar()
        vocab, features = load_vocab(path), None
        if hybrid:
            from nlp.ner.hybrid import Featurizer, HybridNer
            model = HybridNer.load(path)
            features = Featurizer.load(path, vocab)
        else:
            model = BertForTokenClassification.from_pretrained(str(path), local_files_only=True)
        if quantize is None:
            quantize = bool(manifest.get("inference", {}).get("quantize", False))
        if quantize:
            model = quantize_int8(model)
        return cls(model, vocab, max_len=model.config.max_position_embeddings,
                   manifest=manifest, quantized=quantize, features=features)

    def predict(self, texts: list[str], batch_size: int = 16) -> list[list[Entity]]:
        """Entities per text, offsets into the original texts, sorted by start."""
        spans = self.predict_spans(texts, batch_size=batch_size)
        return [[Entity(s, e, t, text[s:e], source="model") for s, e, t in doc_spans]
                for text, doc_spans in zip(texts, spans)]

    def predict_spans(self, texts: list[str], batch_size: int = 16) -> list[list[tuple[int, int, str]]]:
        """(start, end, type) per text; the work behind `predict`."""
        import torch

        from nlp.ner.corpus import chunk_bounds
        from nlp.ner.model import encode, spans_from_labels, viterbi_decode
        from nlp.ner.normalize import normalize

        if self.features is not None:
            return self._predict_hybrid(texts, batch_size)
        pieces = []                                          # (text index, offset, ids)
        for i, text in enumerate(texts):
            norm = normalize(text)
            for s, e in chunk_bounds(norm, self.max_len):
                pieces.append((i, s, encode(norm[s:e], self.vocab)))
        order = sorted(range(len(pieces)), key=lambda k: len(pieces[k][2]))
        out: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        with torch.inference_mode():
            for b in range(0, len(order), batch_size):
                batch = [pieces[k] for k in order[b:b + batch_size]]
                lengths = [len(ids) for _, _, ids in batch]
                width = max(lengths)
                ids = torch.zeros(len(batch), width, dtype=torch.long)
                mask = torch.zeros(len(batch), width, dtype=torch.long)
                for row, (_, _, piece) in enumerate(batch):
                    ids[row, :len(piece)] = torch.tensor(piece)
                    mask[row, :len(piece)] = 1
                logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
                paths = viterbi_decode(torch.log_softmax(logits, dim=-1), lengths)
                for (i, offset, _), path in zip(batch, paths):
                    out[i].extend((offset + s, offset + e, t) for s, e, t in spans_from_labels(path))
        return [sorted(doc) for doc in out]

    def _predict_hybrid(self, texts: list[str], batch_size: int) -> list[list[tuple[int, int, str]]]:
        import torch

        from nlp.ner.corpus import chunk_bounds
        from nlp.ner.hybrid import collate
        from nlp.ner.model import spans_from_labels
        from nlp.ner.normalize import normalize

        pieces = []                                          # (text index, offset, features)
        for i, text in enumerate(texts):
            norm = normalize(text)
            feats = self.features(norm)                      # whole text: bigrams/lexicon see across windows
            for s, e in chunk_bounds(norm, self.max_len):
                pieces.append((i, s, self.features.slice(feats, s, e)))
        order = sorted(range(len(pieces)), key=lambda k: len(pieces[k][2]["ids"]))
        out: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        with torch.inference_mode():
            for b in range(0, len(order), batch_size):
                batch = [pieces[k] for k in order[b:b + batch_size]]
                lengths = [len(f["ids"]) for _, _, f in batch]
                paths = self.model.decode(collate([f for _, _, f in batch]), lengths)
                for (i, offset, _), path in zip(batch, paths):
                    out[i].extend((offset + s, offset + e, t) for s, e, t in spans_from_labels(path))
        return [sorted(doc) for doc in out]


def quantize_int8(model: Any) -> Any:
    """int8 dynamic quantisation of every nn.Linear (weights int8, activations quantised on the fly)."""
    import warnings

    import torch
    from torch.ao.quantization import quantize_dynamic
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
