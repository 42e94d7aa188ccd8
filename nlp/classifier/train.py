"""Train the event classifier: a small character BERT, pre-trained as a masked language model on all clinical text
we may use, then fine-tuned to say which of the 18 event categories a sentence reports (multi-label; none = no
event of this patient in this stay).

usage: aew train-clf [--corpus data/corpus/events] [--pretrain-text FILE_OR_DIR ...] [--out data/models/event-clf]
                     [--pretrain-epochs 2] [--epochs 6] [--seed 13] [--threads 2]

Seeded and deterministic (fixed torch threads). Writes config.json, model.safetensors, vocab.json, manifest.json
(command, corpus digest, held-out figures per category).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

from nlp.classifier import CLS, MASK, MAX_LEN, PAD, UNK, encode
from nlp.classifier.corpus import generate_labelled
from nlp.classifier.data import WINDOW, load_corpus, read_jsonl, windows
from nlp.normalize import normalize_text
from nlp.rulefiles import load_yaml

VERSION = "2"
ROOT = Path(__file__).resolve().parents[2]


def build_vocab(texts: list[str], min_count: int = 2) -> dict[str, int]:
    counts = Counter(ch for t in texts for ch in t)
    vocab = {PAD: 0, UNK: 1, CLS: 2, MASK: 3}
    for ch, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if n >= min_count and ch not in vocab:
            vocab[ch] = len(vocab)
    return vocab


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pretrain_texts(paths: list[str]) -> list[str]:
    """Windows of unlabelled clinical text: .txt files (one text per line) and .json/.jsonl files whose records
    have a "text" (cEHRNER json lists, CHIP-CTC json lists, notes as JSON Lines). Folders are searched."""
    out: list[str] = []
    files: list[Path] = []
    for p in map(Path, paths):
        files += sorted(x for x in p.rglob("*") if x.suffix in (".txt", ".json", ".jsonl")) if p.is_dir() else [p]
    for f in files:
        if f.suffix == ".txt":                   # one text a line; "label<TAB>text" keeps the text
            texts = [l.rsplit("\t", 1)[-1] for l in f.read_text(encoding="utf-8").splitlines() if l.strip()]
        else:
            try:
                d = json.loads(f.read_text(encoding="utf-8"))
                rows = d if isinstance(d, list) else d.get("data", []) if isinstance(d, dict) else []
            except ValueError:                   # JSON Lines
                rows = read_jsonl(f)
            texts = [r.get("text", "") for r in rows if isinstance(r, dict)]
        for t in texts:
            if isinstance(t, str) and t.strip():
                norm = normalize_text(t.replace("叒", " "))
                out += [norm[s:e] for s, e in windows(norm)]
    return out


def bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def select_cues(positives: list[str], background: list[str], coverage: float = 0.995) -> list[str]:
    """Character bigrams that mark event sentences: ranked by how much more often they occur in event windows
    than in ordinary clinical text, taken until ``coverage`` of the event windows hold one. At run time the model
    scores only windows with a cue (most of a real note has none), which keeps the scan fast."""
    pos = [bigrams(t) for t in positives]
    cp, cb = Counter(b for bs in pos for b in bs), Counter(b for t in background for b in bigrams(t))
    n_p, n_b = max(1, len(pos)), max(1, len(background))
    ranked = sorted((b for b, n in cp.items() if n >= 2 and not any(ch.isdigit() for ch in b)),
                    key=lambda b: (-((cp[b] + 0.5) / n_p) / ((cb[b] + 0.5) / n_b), b))
    cues, covered, uncovered = [], 0, list(range(len(pos)))
    for b in ranked:
        if covered >= coverage * len(pos):
            break
        rest = [i for i in uncovered if b not in pos[i]]
        if len(rest) < len(uncovered):
            cues.append(b)
            covered += len(uncovered) - len(rest)
            uncovered = rest
    return sorted(cues)


def _split(rows: list, seed: int, share: float = 0.1) -> tuple[list, list]:
    idx = list(range(len(rows)))
    random.Random(seed).shuffle(idx)
    n = int(len(rows) * share)
    return [rows[i] for i in idx[n:]], [rows[i] for i in idx[:n]]


def train(out: Path, *, corpus: Path | None = None, pretrain: list[str] | None = None, epochs: int = 3,
          pretrain_epochs: int = 3, seed: int = 13, threads: int = 2, lr: float = 3e-4, batch_size: int = 32,
          hidden: int = 128, layers: int = 3, heads: int = 4, templates: bool = True,
          limit: int | None = None, command: str | None = None, cache_dir: Path | None = None,
          pretrain_only: bool = False) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import BertConfig, BertForMaskedLM
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    cats = list((load_yaml(ROOT / "data" / "taxonomy.yaml").get("events") or {}).keys())
    corpus = corpus or ROOT / "data" / "corpus" / "events"
    rows = [(t, c) for t, c, _ in load_corpus(corpus, cats)]
    n_written = len(rows)
    if templates:
        rows += [(normalize_text(t), c) for t, c in generate_labelled(seed)]
    rows = rows[:limit] if limit else rows
    tr, val = _split(rows, seed)
    unlabelled = pretrain_texts(pretrain or [])
    # the vocabulary and the pre-trained encoder depend only on the unlabelled text and the templates, so a
    # retraining on a grown corpus reuses the encoder (cached by digest under var/pretrain-cache/)
    vocab = build_vocab(unlabelled + [normalize_text(t) for t, _ in generate_labelled(seed)] if unlabelled
                        else [t for t, _ in tr])
    cfg = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
                     intermediate_size=hidden * 2, max_position_embeddings=MAX_LEN, type_vocab_size=1,
                     hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, pad_token_id=vocab[PAD])

    def pad(ids: list[list[int]]):
        n = max(len(x) for x in ids)
        x = torch.tensor([r + [vocab[PAD]] * (n - len(r)) for r in ids])
        return x, (x != vocab[PAD]).long()

    history: dict = {"pretrain": [], "finetune": []}
    encoder_state = None
    key = hashlib.sha256(json.dumps([unlabelled, vocab, [hidden, layers, heads, MAX_LEN], pretrain_epochs, seed],
                                    ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()[:16]
    cache = (cache_dir or ROOT / "var" / "pretrain-cache") / key
    if unlabelled and pretrain_epochs > 0 and (cache / "encoder.pt").is_file():
        encoder_state = torch.load(cache / "encoder.pt")
        history["pretrain"] = json.loads((cache / "history.json").read_text(encoding="utf-8"))
        print(f"pre-trained encoder from {cache}", flush=True)
    elif unlabelled and pretrain_epochs > 0:
        mlm = BertForMaskedLM(cfg)
        opt = torch.optim.AdamW(mlm.parameters(), lr=1e-3, weight_decay=0.01)
        texts = list(unlabelled)
        rng = random.Random(seed)
        for ep in range(pretrain_epochs):
            rng.shuffle(texts)
            total, n = 0.0, 0
            mlm.train()
            for i in range(0, len(texts), 64):
                x, m = pad([encode(t, vocab) for t in texts[i:i + 64]])
                labels = x.clone()
                prob = torch.rand(x.shape, generator=torch.Generator().manual_seed(seed * 1000 + ep * 100000 + i))
                chosen = (prob < 0.15) & (m == 1) & (x != vocab[CLS])
                labels[~chosen] = -100
                x = x.clone()
                x[chosen & (prob < 0.12)] = vocab[MASK]               # 80% mask, the rest left as they are
                loss = mlm(input_ids=x, attention_mask=m, labels=labels).loss
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(mlm.parameters(), 1.0)
                opt.step()
                total, n = total + loss.item(), n + 1
            history["pretrain"].append(round(total / max(1, n), 4))
            print(f"pretrain epoch {ep + 1}/{pretrain_epochs} mlm loss={total / max(1, n):.4f} "
                  f"({time.time() - t0:.0f}s, {len(texts)} windows)", flush=True)
        encoder_state = mlm.bert.state_dict()
        cache.mkdir(parents=True, exist_ok=True)
        torch.save(encoder_state, cache / "encoder.pt")
        (cache / "history.json").write_text(json.dumps(history["pretrain"]), encoding="utf-8")
    if pretrain_only:
        return {"pretrain_cache": str(cache), "history": history}
    from nlp.classifier import EventModel
    model = EventModel(cfg, len(cats) + 1)
    if encoder_state is not None:
        missing = model.bert.load_state_dict(encoder_state, strict=False)
        assert not missing.missing_keys, missing
    # the pre-trained encoder moves gently, the new head fast
    opt = torch.optim.AdamW([{"params": model.bert.parameters(), "lr": lr},
                             {"params": model.head.parameters(), "lr": lr * 10}], weight_decay=0.01)
    cat_idx = {c: i + 1 for i, c in enumerate(cats)}            # 0 is "none"

    def batches(data, shuffle: bool):
        idx = list(range(len(data)))
        if shuffle:
            random.shuffle(idx)
        for i in range(0, len(idx), batch_size):
            part = [data[j] for j in idx[i:i + batch_size]]
            x, m = pad([encode(t, vocab) for t, _ in part])
            y = torch.zeros(len(part), len(cats) + 1)
            for k, (_, cs) in enumerate(part):
                if not cs:
                    y[k, 0] = 1.0
                for c in cs:                     # a sentence with two events shares the probability
                    y[k, cat_idx[c]] = 1.0 / len(cs)
            yield x, m, y

    def evaluate(data, threshold: float = 0.5) -> dict:
        model.eval()
        per = {c: [0, 0, 0] for c in cats}
        with torch.inference_mode():
            for x, m, y in batches(data, False):
                p = torch.softmax(model(x, m), -1)[:, 1:] >= threshold
                g = y[:, 1:] > 0
                for j, c in enumerate(cats):
                    per[c][0] += int((p[:, j] & g[:, j]).sum())
                    per[c][1] += int((p[:, j] & ~g[:, j]).sum())
                    per[c][2] += int((~p[:, j] & g[:, j]).sum())
        tp, fp, fn = (sum(v[i] for v in per.values()) for i in range(3))
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        return {"micro_f1": round(f1, 4), "tp": tp, "fp": fp, "fn": fn, "per_category": per}

    best, best_state = -1.0, None
    total_steps = epochs * ((len(tr) + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 100) * max(0.05, 1 - s / total_steps))
    for ep in range(epochs):
        model.train()
        total, n = 0.0, 0
        for x, m, y in batches(tr, True):
            loss = torch.nn.functional.cross_entropy(model(x, m), y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            total, n = total + loss.item(), n + 1
        ev = evaluate(val)
        history["finetune"].append({"epoch": ep + 1, "loss": round(total / max(1, n), 4), "val_micro_f1": ev["micro_f1"]})
        print(f"epoch {ep + 1}/{epochs} loss={total / max(1, n):.4f} val micro-F1={ev['micro_f1']:.4f} "
              f"({time.time() - t0:.0f}s)", flush=True)
        if ev["micro_f1"] > best:
            best, best_state = ev["micro_f1"], {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    final = evaluate(val)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out)
    with open(out / "vocab.json", "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False, indent=0)
    cues = select_cues([t for t, c in tr if c], unlabelled or [t for t, c in tr if not c])
    with open(out / "cues.json", "w", encoding="utf-8") as f:
        json.dump(cues, f, ensure_ascii=False, indent=0)
    bg = unlabelled or [t for t, c in val if not c]
    cue_stats = {"cues": len(cues),
                 "held_out_event_windows_with_cue": round(sum(bool(bigrams(t) & set(cues)) for t, c in val if c)
                                                          / max(1, sum(1 for _, c in val if c)), 4),
                 "background_windows_with_cue": round(sum(bool(bigrams(t) & set(cues)) for t in bg)
                                                      / max(1, len(bg)), 4)}
    corpus_hash = hashlib.sha256("\n".join(f"{','.join(c)}\t{t}" for t, c in rows).encode("utf-8")).hexdigest()
    manifest = {
        "name": "event-clf", "version": VERSION,
        "task": "which of the 18 event categories a sentence reports, or none (no event of this patient in this stay);"
                " softmax over none + 18",
        "labels": cats,
        "architecture": f"BERT encoder hidden={hidden} layers={layers} heads={heads}, mean-pooled, linear head; "
                        f"masked-LM pre-trained ({pretrain_epochs} epochs) then fine-tuned",
        "parameters": sum(p.numel() for p in model.parameters()), "seed": seed, "epochs": epochs,
        "pretrain_epochs": pretrain_epochs if unlabelled else 0, "lr": lr, "threads": threads, "max_len": MAX_LEN,
        "command": command or "aew train-clf",
        "corpus": {"written": str(Path(corpus).relative_to(ROOT)) if Path(corpus).is_relative_to(ROOT) else str(corpus),
                   "written_examples": n_written, "templates": "nlp/classifier/corpus.py generate_labelled()"
                   if templates else None, "train": len(tr), "held_out": len(val),
                   "pretrain_windows": len(unlabelled),
                   "pretrain_sources": [Path(p).name for p in (pretrain or [])]},
        "corpus_sha256": corpus_hash,
        "cue_filter": cue_stats,
        "metrics": {"held_out_micro_f1": final["micro_f1"], "held_out": {k: final[k] for k in ("tp", "fp", "fn")},
                    "held_out_per_category": final["per_category"], "train_seconds": round(time.time() - t0, 1)},
        "history": history,
        "weights_sha256": sha256(out / "model.safetensors"),
        "licence": "the project's own work (sentences and notes written for this project; pre-training text is "
                   "not shipped)",
    }
    with open(out / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=2)
    return manifest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="aew train-clf", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "data" / "models" / "event-clf"))
    ap.add_argument("--corpus", default=str(ROOT / "data" / "corpus" / "events"))
    ap.add_argument("--pretrain-text", nargs="*", default=[], help="unlabelled clinical text (files or folders)")
    ap.add_argument("--pretrain-epochs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=3e-4, help="encoder learning rate (the head: ten times)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-templates", action="store_true", help="leave out the team's template sentences")
    ap.add_argument("--pretrain-only", action="store_true", help="only pre-train (fills the cache) and stop")
    a = ap.parse_args(argv)
    cmd = "aew train-clf " + " ".join(sys.argv[1:] if argv is None else argv)
    m = train(Path(a.out), corpus=Path(a.corpus), pretrain=a.pretrain_text, epochs=a.epochs,
              pretrain_epochs=a.pretrain_epochs, seed=a.seed, threads=a.threads, templates=not a.no_templates,
              command=cmd, pretrain_only=a.pretrain_only, lr=a.lr)
    if a.pretrain_only:
        print(json.dumps(m))
        return
    print(json.dumps({k: m["metrics"][k] for k in ("held_out_micro_f1", "held_out", "train_seconds")}))


if __name__ == "__main__":
    main()
