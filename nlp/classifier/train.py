"""Train the event-sentence classifier from scratch on our own template sentences (nlp/classifier/corpus.py).

usage: python -m nlp.classifier.train [--out data/models/event-clf] [--epochs 4] [--seed 13] [--threads 2]
Seeded and deterministic (fixed torch threads); writes config.json, model.safetensors, vocab.json, manifest.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import time
from collections import Counter
from pathlib import Path

from nlp.classifier import CLS, MAX_LEN, PAD, UNK, encode
from nlp.classifier.corpus import generate
from nlp.normalize import normalize_text

VERSION = "1"


def build_vocab(texts: list[str], min_count: int = 1) -> dict[str, int]:
    counts = Counter(ch for t in texts for ch in t)
    vocab = {PAD: 0, UNK: 1, CLS: 2}
    for ch, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if n >= min_count:
            vocab[ch] = len(vocab)
    return vocab


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def train(out: Path, *, epochs: int = 2, seed: int = 13, threads: int = 2, lr: float = 1e-3,
          batch_size: int = 32, hidden: int = 128, layers: int = 2, heads: int = 4,
          limit: int | None = None) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import BertConfig, BertForSequenceClassification
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    torch.use_deterministic_algorithms(True)
    data = [(normalize_text(t), y) for t, y in generate(seed)][:limit]
    n_val = len(data) // 10
    val, tr = data[:n_val], data[n_val:]
    vocab = build_vocab([t for t, _ in tr])
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=hidden * 2, max_position_embeddings=MAX_LEN, type_vocab_size=1,
                     hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, num_labels=2,
                     pad_token_id=vocab[PAD])
    model = BertForSequenceClassification(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)

    def batches(rows, shuffle: bool):
        idx = list(range(len(rows)))
        if shuffle:
            random.shuffle(idx)
        for i in range(0, len(idx), batch_size):
            part = [rows[j] for j in idx[i:i + batch_size]]
            ids = [encode(t, vocab) for t, _ in part]
            n = max(len(x) for x in ids)
            x = torch.tensor([r + [vocab[PAD]] * (n - len(r)) for r in ids])
            yield x, (x != vocab[PAD]).long(), torch.tensor([y for _, y in part])

    t0 = time.time()
    steps = 0
    for ep in range(epochs):
        model.train()
        total = 0.0
        for x, m, y in batches(tr, True):
            loss = model(input_ids=x, attention_mask=m, labels=y).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            steps += 1
        print(f"epoch {ep + 1}/{epochs} loss={total / max(1, steps):.4f} ({time.time() - t0:.0f}s)", flush=True)
    model.eval()
    correct = 0
    with torch.inference_mode():
        for x, m, y in batches(val, False):
            correct += (model(input_ids=x, attention_mask=m).logits.argmax(-1) == y).sum().item()
    metrics = {"val_accuracy": round(correct / max(1, len(val)), 4), "train_sentences": len(tr),
               "val_sentences": len(val), "train_seconds": round(time.time() - t0, 1)}
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    with open(out / "vocab.json", "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=0)
    corpus_hash = hashlib.sha256("\n".join(f"{y}\t{t}" for t, y in data).encode("utf-8")).hexdigest()
    weights = out / "model.safetensors"
    manifest = {"name": "event-clf", "version": VERSION, "task": "event sentence (this patient, this stay) yes/no",
                "architecture": f"BertForSequenceClassification hidden={hidden} layers={layers} heads={heads}",
                "parameters": sum(p.numel() for p in model.parameters()), "seed": seed, "epochs": epochs,
                "lr": lr, "threads": threads, "max_len": MAX_LEN, "corpus": "nlp/classifier/corpus.py generate()",
                "corpus_sha256": corpus_hash, "metrics": metrics, "weights_sha256": sha256(weights),
                "licence": "the project's own work (template sentences written by the team)"}
    with open(out / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2)
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[2] / "data" / "models" / "event-clf"))
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    m = train(Path(a.out), epochs=a.epochs, seed=a.seed, threads=a.threads)
    print(json.dumps(m["metrics"], ensure_ascii=False))


if __name__ == "__main__":
    main()
