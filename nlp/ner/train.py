"""Training from scratch: `aew train-ner` (token classification) and `aew pretrain` (masked LM).

Reproducible: one seed for Python, torch and the batch order, deterministic torch algorithms, a fixed
thread count. Early stopping on dev strict micro-F1. The output directory gets config.json,
model.safetensors, vocab.json and manifest.json (hyper-parameters, data and weight sha256, metrics,
versions, timings).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import platform
import random
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator

import torch

from nlp.ner.corpus import Document, bio_labels, chunk_bounds, read_corpus
from nlp.ner.metrics import strict_scores
from nlp.ner.model import MASK, PAD, SPECIALS, UNK, build_config, build_vocab, encode, load_vocab, save_vocab
from nlp.ner.normalize import normalize

Log = Callable[[str], None]


@dataclass
class TrainConfig:
    """Hyper-parameters of `aew train-ner` (all recorded in the manifest)."""
    hidden: int = 256
    layers: int = 3
    heads: int = 4
    intermediate: int = 512
    max_len: int = 128
    dropout: float = 0.1
    batch_size: int = 16
    lr: float = 1e-3
    warmup: float = 0.06            # share of all steps
    weight_decay: float = 0.01
    epochs: int = 14
    patience: int = 4               # epochs without a better dev F1 before stopping
    seed: int = 13
    threads: int = 1                # one thread: reproducible, and 10x faster than 2 on a busy 2-core machine
    unk_prob: float = 0.02          # characters replaced by [UNK] at train time (unseen characters)
    min_char_count: int = 1
    max_steps: int | None = None    # stop early (tests)
    init: str | None = None         # a directory written by `aew pretrain`
    arch: str = "bert"              # "bert": BertForTokenClassification; "hybrid": see nlp/ner/hybrid.py
    bigram_dim: int = 64            # hybrid: bigram embedding size
    bigram_min_count: int = 2       # hybrid: bigrams seen at least this often in train
    max_bigrams: int = 30000
    lstm_hidden: int = 128          # hybrid: BiLSTM units per direction
    lexicon: str | None = None      # hybrid: THUOCL-style word list (word<TAB>freq) for lexicon features
    lex_folds: int = 5              # hybrid: train lexicon features of a doc come from the other folds
    crf_lr: float = 1e-2            # hybrid: learning rate of the CRF transition scores
    stop_epoch: int | None = None   # stop after this epoch (the LR schedule still spans `epochs`)


@contextmanager
def reproducible(seed: int, threads: int) -> Iterator[torch.Generator]:
    """Seed Python and torch, fix the thread count, deterministic algorithms; restore torch's settings after."""
    threads_before, deterministic_before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    try:
        yield seed_everything(seed, threads)
    finally:
        torch.set_num_threads(threads_before)
        torch.use_deterministic_algorithms(deterministic_before)


def seed_everything(seed: int, threads: int) -> torch.Generator:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_examples(docs: list[Document], vocab: dict[str, int], max_len: int) -> list[tuple[list[int], list[int]]]:
    """(ids, label ids) per chunk of at most max_len characters, cut at sentence ends, never in a span."""
    examples = []
    for doc in docs:
        norm = normalize(doc.text)
        labels = bio_labels(len(norm), doc.spans)
        for s, e in chunk_bounds(norm, max_len, doc.spans):
            examples.append((encode(norm[s:e], vocab), labels[s:e]))
    return examples


def batches(n_items: list[int], batch_size: int, gen: torch.Generator) -> Iterator[list[int]]:
    """Shuffled batches of similar lengths (less padding); the order depends only on the generator."""
    perm = torch.randperm(len(n_items), generator=gen).tolist()
    pool = batch_size * 50
    out = []
    for p in range(0, len(perm), pool):
        block = sorted(perm[p:p + pool], key=lambda k: n_items[k])
        out.extend(block[b:b + batch_size] for b in range(0, len(block), batch_size))
    for k in torch.randperm(len(out), generator=gen).tolist():
        yield out[k]


def pad_batch(rows: list[list[int]], fill: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([r + [fill] * (width - len(r)) for r in rows], dtype=torch.long)


def linear_warmup(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def make_optimizer(model: torch.nn.Module, cfg) -> torch.optim.Optimizer:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 else decay).append(p)
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)


def evaluate(tagger, docs: list[Document], batch_size: int = 32) -> dict:
    pred = tagger.predict_spans([d.text for d in docs], batch_size=batch_size)
    return strict_scores([d.spans for d in docs], pred)


def train_ner(train_path: str | Path, dev_path: str | Path, out_dir: str | Path, cfg: TrainConfig, *,
              progress: "ProgressFactory | None" = None, log: Log = print) -> dict:
    """Train, early-stop on dev strict micro-F1, save the best model; returns the manifest."""
    with reproducible(cfg.seed, cfg.threads) as gen:
        if cfg.arch == "hybrid":
            return _train_hybrid(train_path, dev_path, out_dir, cfg, gen, progress, log)
        if cfg.arch != "bert":
            raise ValueError(f"unknown arch {cfg.arch!r} (bert, hybrid)")
        return _train_ner(train_path, dev_path, out_dir, cfg, gen, progress, log)


def _train_ner(train_path, dev_path, out_dir, cfg: TrainConfig, gen: torch.Generator, progress, log: Log) -> dict:
    from transformers import BertForTokenClassification

    from nlp.ner import NerTagger

    t0 = time.time()
    train_docs, dev_docs = read_corpus(train_path), read_corpus(dev_path)
    if cfg.init:
        vocab = load_vocab(Path(cfg.init))
    else:
        vocab = build_vocab([normalize(d.text) for d in train_docs], cfg.min_char_count)
    examples = make_examples(train_docs, vocab, cfg.max_len)
    config = build_config(len(vocab), hidden=cfg.hidden, layers=cfg.layers, heads=cfg.heads,
                          intermediate=cfg.intermediate, max_len=cfg.max_len, dropout=cfg.dropout)
    model = BertForTokenClassification(config)
    if cfg.init:
        _load_encoder(model, Path(cfg.init), log)
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    optimizer = make_optimizer(model, cfg)
    scheduler = linear_warmup(optimizer, int(cfg.warmup * total), total)
    log(f"train: {len(train_docs)} docs, {len(examples)} chunks, vocab {len(vocab)}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, {steps_per_epoch} steps/epoch")

    unk_id = vocab[UNK]

    def step_loss(idx: list[int]) -> torch.Tensor:
        ids = pad_batch([examples[k][0] for k in idx], 0)
        labels = pad_batch([examples[k][1] for k in idx], -100)
        mask = (labels != -100).long()
        if cfg.unk_prob > 0:
            drop = (torch.rand(ids.shape, generator=gen) < cfg.unk_prob) & mask.bool()
            ids = ids.masked_fill(drop, unk_id)
        return model(input_ids=ids, attention_mask=mask, labels=labels).loss

    def save(out: Path, manifest: dict) -> None:
        _save(model, vocab, out, manifest)

    return _fit(model, [len(x[0]) for x in examples], step_loss, optimizer, scheduler, total, steps_per_epoch,
                clip=1.0, tagger=lambda: NerTagger(model, vocab, max_len=cfg.max_len), save=save,
                manifest=lambda best_epoch, history, scores, complete: _manifest(
                    cfg, config, train_path, dev_path, train_docs, dev_docs, best_epoch, history, scores, t0,
                    complete=complete),
                dev_docs=dev_docs, out_dir=out_dir, cfg=cfg, gen=gen, progress=progress, log=log)


def _fit(model, lengths: list[int], step_loss, optimizer, scheduler, total: int, steps_per_epoch: int, *,
         clip: float, tagger, save, manifest, dev_docs, out_dir, cfg: TrainConfig, gen: torch.Generator,
         progress, log: Log) -> dict:
    """The epoch loop both architectures share: batches in a seeded order, gradient clipping, dev strict F1
    after each epoch, the best model saved as it appears (a stopped run leaves a usable model), early stopping,
    then the best weights restored and saved with a complete manifest."""
    best_f1, best_state, best_epoch, history, step = -1.0, None, 0, [], 0
    best_scores: dict = {}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        e0, loss_sum, n = time.time(), 0.0, 0
        with (progress or _NoProgress)(f"epoch {epoch}/{cfg.epochs}", steps_per_epoch) as advance:
            for idx in batches(lengths, cfg.batch_size, gen):
                loss = step_loss(idx)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                loss_sum, n, step = loss_sum + loss.item(), n + 1, step + 1
                advance(loss.item())
                if progress is None and step % 50 == 0:
                    log(f"  step {step}/{total}  loss {loss.item():.4f}  ({time.time() - e0:.0f}s)")
                if step >= total:
                    break
        model.eval()
        scores = evaluate(tagger(), dev_docs)
        f1 = scores["micro"]["f1"]
        history.append({"epoch": epoch, "loss": round(loss_sum / max(1, n), 4), "dev_f1": f1,
                        "seconds": round(time.time() - e0, 1)})
        log(f"epoch {epoch}: loss {loss_sum / max(1, n):.4f}  dev micro-F1 {f1:.4f}  ({time.time() - e0:.0f}s)")
        if f1 > best_f1:
            best_f1, best_epoch, best_state = f1, epoch, copy.deepcopy(model.state_dict())
            best_scores = scores
            save(out, manifest(best_epoch, history, best_scores, False))
        elif epoch - best_epoch >= cfg.patience:
            log(f"early stop: no better dev F1 for {cfg.patience} epochs (best {best_f1:.4f} at epoch {best_epoch})")
            break
        if step >= total:
            break
        if cfg.stop_epoch and epoch >= cfg.stop_epoch:
            log(f"stop after epoch {epoch} (--stop-epoch)")
            break
    model.load_state_dict(best_state)
    final = manifest(best_epoch, history, best_scores, True)
    save(out, final)
    log(f"saved {out} (best epoch {best_epoch}, dev micro-F1 {best_f1:.4f}, {final['train_seconds']:.0f}s)")
    return final


def _train_hybrid(train_path, dev_path, out_dir, cfg: TrainConfig, gen: torch.Generator, progress, log: Log) -> dict:
    from nlp.ner import NerTagger
    from nlp.ner.hybrid import BI_UNK, Featurizer, HybridNer, Lexicon, build_bigram_vocab, collate, hybrid_config, read_thuocl

    if cfg.init:
        raise ValueError("--init (an MLM encoder) is only supported with --arch bert")
    t0 = time.time()
    train_docs, dev_docs = read_corpus(train_path), read_corpus(dev_path)
    norms = [normalize(d.text) for d in train_docs]
    vocab = build_vocab(norms, cfg.min_char_count)
    bigrams = build_bigram_vocab(norms, cfg.bigram_min_count, cfg.max_bigrams)
    plain = read_thuocl(cfg.lexicon)
    mentions = [[(norm[s:e], t) for s, e, t in d.spans] for d, norm in zip(train_docs, norms)]
    full = Lexicon.from_mentions([m for ms in mentions for m in ms], plain)
    feat = Featurizer(vocab, bigrams, full)
    folds = max(1, cfg.lex_folds)
    fold_lex = [Lexicon.from_mentions([m for k, ms in enumerate(mentions) if folds > 1 and k % folds != f
                                       for m in ms], plain) for f in range(folds)]
    examples = []                                   # (features, labels)
    for k, (doc, norm) in enumerate(zip(train_docs, norms)):
        f = feat(norm, fold_lex[k % folds] if folds > 1 else full)
        labels = bio_labels(len(norm), doc.spans)
        for s, e in chunk_bounds(norm, cfg.max_len, doc.spans):
            examples.append((Featurizer.slice(f, s, e), labels[s:e]))
    config = hybrid_config(len(vocab), len(bigrams), hidden=cfg.hidden, layers=cfg.layers, heads=cfg.heads,
                           intermediate=cfg.intermediate, max_len=cfg.max_len, dropout=cfg.dropout,
                           bigram_dim=cfg.bigram_dim, lstm_hidden=cfg.lstm_hidden)
    model = HybridNer(config)
    steps_per_epoch = math.ceil(len(examples) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    decay, no_decay, crf = [], [], []
    for name, p in model.named_parameters():
        (crf if name.startswith("crf.") else no_decay if p.ndim < 2 else decay).append(p)
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0},
                                   {"params": crf, "weight_decay": 0.0, "lr": cfg.crf_lr}], lr=cfg.lr)
    scheduler = linear_warmup(optimizer, int(cfg.warmup * total), total)
    log(f"train (hybrid): {len(train_docs)} docs, {len(examples)} chunks, vocab {len(vocab)}, bigrams {len(bigrams)}, "
        f"lexicon {len(full.typed)} mentions + {len(plain)} words, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters, {steps_per_epoch} steps/epoch "
        f"({time.time() - t0:.0f}s features)")

    unk_id = vocab[UNK]

    def step_loss(idx: list[int]) -> torch.Tensor:
        batch = collate([examples[k][0] for k in idx])
        labels = pad_batch([examples[k][1] for k in idx], 0)
        if cfg.unk_prob > 0:
            m = batch["mask"].bool()
            drop = (torch.rand(batch["ids"].shape, generator=gen) < cfg.unk_prob) & m
            batch["ids"] = batch["ids"].masked_fill(drop, unk_id)
            drop = (torch.rand(batch["bi"].shape, generator=gen) < cfg.unk_prob) & m.unsqueeze(-1)
            batch["bi"] = batch["bi"].masked_fill(drop, BI_UNK)
        return model.loss(batch, labels)

    def manifest(best_epoch, history, scores, complete):
        m = _manifest(cfg, config, train_path, dev_path, train_docs, dev_docs, best_epoch, history, scores, t0,
                      complete=complete)
        if complete and cfg.lexicon:
            m["data"]["lexicon"] = {"file": Path(cfg.lexicon).name, "sha256": sha256_file(cfg.lexicon),
                                    "words": len(plain)}
        return m

    return _fit(model, [len(x[1]) for x in examples], step_loss, optimizer, scheduler, total, steps_per_epoch,
                clip=5.0, tagger=lambda: NerTagger(model, vocab, max_len=cfg.max_len, features=feat),
                save=lambda out, m: _save_hybrid(model, feat, out, m), manifest=manifest,
                dev_docs=dev_docs, out_dir=out_dir, cfg=cfg, gen=gen, progress=progress, log=log)


def _save_hybrid(model, feat, out: Path, manifest: dict) -> None:
    model.save(out)
    save_vocab(feat.vocab, out)
    feat.save(out)
    manifest["arch"] = "hybrid"
    manifest["kind"] = ("hybrid: transformers BertModel over char + bigram + lexicon embeddings, BiLSTM, CRF "
                        "(character level, BIO, constrained Viterbi)")
    write_manifest(out, manifest)


def _save(model, vocab: dict[str, int], out: Path, manifest: dict) -> None:
    """Write the model directory (the best model so far, so that a stopped run leaves a usable model)."""
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    model.save_pretrained(str(out), safe_serialization=True)
    save_vocab(vocab, out)
    write_manifest(out, manifest)


def _manifest(cfg, config, train_path, dev_path, train_docs, dev_docs, best_epoch, history, best_scores, t0,
              *, complete: bool) -> dict:
    return {
        "model": "ner-zh", "kind": "BertForTokenClassification (character level, BIO, constrained Viterbi)",
        "complete": complete,
        "labels": list(config.id2label.values()),
        # file names, not this machine's paths: the data section below holds each file's sha256
        "hyperparameters": {**asdict(cfg), "lexicon": Path(cfg.lexicon).name if cfg.lexicon else None,
                            "init": Path(cfg.init).name if cfg.init else None},
        "data": {"train": _data_entry(train_path, train_docs), "dev": _data_entry(dev_path, dev_docs)},
        "init": _init_entry(cfg.init),
        "best_epoch": best_epoch, "epochs_run": len(history), "history": list(history),
        "metrics": {"dev": best_scores},
        "train_seconds": round(time.time() - t0, 1),
        "inference": {"quantize": False, "max_len": cfg.max_len},
        "versions": _versions(),
    }


def write_manifest(out: Path, manifest: dict) -> None:
    """Write manifest.json, with sha256 of every model file (recomputed on each write)."""
    from nlp.ner import MODEL_FILES
    from nlp.ner.hybrid import HYBRID_FILES
    names = HYBRID_FILES if manifest.get("arch") == "hybrid" else MODEL_FILES
    manifest["files"] = {f: {"sha256": sha256_file(out / f), "bytes": (out / f).stat().st_size}
                         for f in names}
    with open(out / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def _data_entry(path: str | Path, docs: list[Document]) -> dict:
    return {"file": Path(path).name, "sha256": sha256_file(path), "docs": len(docs),
            "mentions": sum(len(d.spans) for d in docs)}


def _init_entry(init: str | None) -> dict | None:
    if not init:
        return None
    p = Path(init) / "manifest.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {"dir": str(init)}


def _versions() -> dict:
    import transformers
    return {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "platform": platform.platform()}


def _load_encoder(model: torch.nn.Module, init: Path, log: Log) -> None:
    from transformers import BertForMaskedLM
    mlm = BertForMaskedLM.from_pretrained(str(init), local_files_only=True)
    missing, unexpected = model.bert.load_state_dict(mlm.bert.state_dict(), strict=False)
    log(f"encoder initialised from {init} (missing {len(missing)}, unexpected {len(unexpected)})")


# --- masked-language-model pre-training -------------------------------------------------------------

@dataclass
class PretrainConfig:
    hidden: int = 256
    layers: int = 4
    heads: int = 4
    intermediate: int = 1024
    max_len: int = 256
    dropout: float = 0.1
    batch_size: int = 32
    lr: float = 5e-4
    warmup: float = 0.06
    weight_decay: float = 0.01
    epochs: int = 5
    mask_prob: float = 0.15
    seed: int = 13
    threads: int = 1                # one thread: reproducible, and 10x faster than 2 on a busy 2-core machine
    min_char_count: int = 1
    max_steps: int | None = None


def pretrain_mlm(corpus_paths: list[str | Path], out_dir: str | Path, cfg: PretrainConfig, *,
                 progress: "ProgressFactory | None" = None, log: Log = print) -> dict:
    """Masked-LM pre-training on the texts of the corpora (labels unused); writes an `--init` directory."""
    with reproducible(cfg.seed, cfg.threads) as gen:
        return _pretrain_mlm(corpus_paths, out_dir, cfg, gen, progress, log)


def _pretrain_mlm(corpus_paths, out_dir, cfg: PretrainConfig, gen: torch.Generator, progress, log: Log) -> dict:
    from transformers import BertForMaskedLM

    t0 = time.time()
    docs = [d for p in corpus_paths for d in read_corpus(p)]
    texts = [normalize(d.text) for d in docs]
    vocab = build_vocab(texts, cfg.min_char_count)
    chunks = [encode(t[s:e], vocab) for t in texts for s, e in chunk_bounds(t, cfg.max_len)]
    config = build_config(len(vocab), hidden=cfg.hidden, layers=cfg.layers, heads=cfg.heads,
                          intermediate=cfg.intermediate, max_len=cfg.max_len, dropout=cfg.dropout)
    model = BertForMaskedLM(config)
    steps_per_epoch = math.ceil(len(chunks) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs if cfg.max_steps is None else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    optimizer = make_optimizer(model, cfg)
    scheduler = linear_warmup(optimizer, int(cfg.warmup * total), total)
    n_special, mask_id = len(SPECIALS), vocab[MASK]
    history, step = [], 0
    model.train()
    for epoch in range(1, cfg.epochs + 1):
        e0, loss_sum, n = time.time(), 0.0, 0
        with (progress or _NoProgress)(f"mlm epoch {epoch}/{cfg.epochs}", steps_per_epoch) as advance:
            for idx in batches([len(c) for c in chunks], cfg.batch_size, gen):
                ids = pad_batch([chunks[k] for k in idx], vocab[PAD])
                attn = (ids != vocab[PAD]).long()
                chosen = (torch.rand(ids.shape, generator=gen) < cfg.mask_prob) & attn.bool()
                labels = ids.masked_fill(~chosen, -100)
                r = torch.rand(ids.shape, generator=gen)
                inputs = ids.masked_fill(chosen & (r < 0.8), mask_id)
                rand_ids = torch.randint(n_special, len(vocab), ids.shape, generator=gen)
                inputs = torch.where(chosen & (r >= 0.8) & (r < 0.9), rand_ids, inputs)
                loss = model(input_ids=inputs, attention_mask=attn, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                loss_sum, n, step = loss_sum + loss.item(), n + 1, step + 1
                advance(loss.item())
                if step >= total:
                    break
        history.append({"epoch": epoch, "loss": round(loss_sum / max(1, n), 4), "seconds": round(time.time() - e0, 1)})
        log(f"mlm epoch {epoch}: loss {loss_sum / max(1, n):.4f} ({time.time() - e0:.0f}s)")
        if step >= total:
            break
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out), safe_serialization=True)
    save_vocab(vocab, out)
    manifest = {"model": "ner-zh-mlm", "hyperparameters": asdict(cfg),
                "data": [_data_entry(p, read_corpus(p)) for p in corpus_paths],
                "history": history, "train_seconds": round(time.time() - t0, 1), "versions": _versions()}
    with open(out / "manifest.json", "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, ensure_ascii=False, indent=2)
    return manifest


# --- progress --------------------------------------------------------------------------------------

class _NoProgress:
    def __init__(self, description: str, total: int):
        pass

    def __enter__(self):
        return lambda loss: None

    def __exit__(self, *exc):
        return False


ProgressFactory = Callable[[str, int], object]


def rich_progress(console=None) -> ProgressFactory:
    """A factory of rich progress bars (one per epoch) that shows the running loss."""
    from contextlib import contextmanager

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    @contextmanager
    def bar(description: str, total: int):
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(), TimeRemainingColumn(),
                      console=console, transient=False) as p:
            task = p.add_task(description, total=total, loss=float("nan"))
            yield lambda loss: p.update(task, advance=1, loss=loss)
    return bar


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `aew train-ner` / `aew pretrain`")
