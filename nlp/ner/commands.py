"""`aew` commands of the NER model: train-ner, pretrain, eval-ner, ner (see spec/scan-contract.md)."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "data" / "models" / "ner-zh"
BLOCK = 64          # notes per prediction block of `aew ner` (bounded memory, streamed output)


def register(app: typer.Typer) -> None:
    """Add train-ner, pretrain, eval-ner and ner to the `aew` CLI."""
    app.command("train-ner")(train_ner_command)
    app.command("pretrain")(pretrain_command)
    app.command("eval-ner")(eval_ner_command)
    app.command("ner")(ner_command)


def _stderr_console():
    from rich.console import Console
    return Console(stderr=True)


def _progress_or_none(console):
    from nlp.ner.train import rich_progress
    return rich_progress(console) if console.is_terminal else None


def train_ner_command(
    train: Annotated[Path, typer.Option(help="training corpus (cEHRNER JSON lines)", exists=True, dir_okay=False)],
    dev: Annotated[Path, typer.Option(help="dev corpus for early stopping", exists=True, dir_okay=False)],
    out: Annotated[Path, typer.Option(help="model directory to write")],
    epochs: int = 14, seed: int = 13, threads: int = 1, lr: float = 1.5e-3, batch_size: int = 32,
    hidden: int = 256, layers: int = 2, heads: int = 4, intermediate: int = 512, max_len: int = 128,
    dropout: float = 0.2, patience: int = 5, unk_prob: float = 0.02, warmup: float = 0.06,
    max_steps: Optional[int] = None,
    init: Annotated[Optional[Path], typer.Option(help="encoder from `aew pretrain` (--arch bert only)")] = None,
    arch: Annotated[str, typer.Option(help="hybrid (BERT over char+bigram+lexicon, BiLSTM, CRF) or bert")] = "hybrid",
    lexicon: Annotated[Optional[Path], typer.Option(help="hybrid: word list (THUOCL word<TAB>freq) for lexicon features",
                                                    exists=True, dir_okay=False)] = None,
    bigram_dim: int = 64, lstm_hidden: int = 128, lex_folds: int = 5,
    stop_epoch: Annotated[Optional[int], typer.Option(help="stop after this epoch (schedule spans --epochs)")] = None,
) -> None:
    """Train the character-level NER model from scratch; early stopping on dev strict micro-F1."""
    from nlp.ner.train import TrainConfig, train_ner
    cfg = TrainConfig(hidden=hidden, layers=layers, heads=heads, intermediate=intermediate, max_len=max_len,
                      dropout=dropout, batch_size=batch_size, lr=lr, warmup=warmup, epochs=epochs,
                      patience=patience, seed=seed, threads=threads, unk_prob=unk_prob, max_steps=max_steps,
                      init=str(init) if init else None, arch=arch, lexicon=str(lexicon) if lexicon else None,
                      bigram_dim=bigram_dim, lstm_hidden=lstm_hidden, lex_folds=lex_folds,
                      stop_epoch=stop_epoch)
    console = _stderr_console()
    train_ner(train, dev, out, cfg, progress=_progress_or_none(console), log=console.print)


def pretrain_command(
    corpus: Annotated[list[Path], typer.Option(help="corpora whose texts are used (labels ignored)", exists=True)],
    out: Annotated[Path, typer.Option(help="directory to write, for `train-ner --init`")],
    epochs: int = 5, seed: int = 13, threads: int = 1, lr: float = 5e-4, batch_size: int = 16,
    hidden: int = 256, layers: int = 4, heads: int = 4, intermediate: int = 512, max_len: int = 128,
    max_steps: Optional[int] = None,
) -> None:
    """Masked-language-model pre-training of the encoder on unlabeled text."""
    from nlp.ner.train import PretrainConfig, pretrain_mlm
    cfg = PretrainConfig(hidden=hidden, layers=layers, heads=heads, intermediate=intermediate, max_len=max_len,
                         batch_size=batch_size, lr=lr, epochs=epochs, seed=seed, threads=threads,
                         max_steps=max_steps)
    console = _stderr_console()
    pretrain_mlm(corpus, out, cfg, progress=_progress_or_none(console), log=console.print)


def eval_ner_command(
    corpus: Annotated[Path, typer.Option(help="annotated corpus (cEHRNER JSON lines)", exists=True, dir_okay=False)],
    model: Annotated[Path, typer.Option(help="model directory")] = DEFAULT_MODEL,
    threads: int = 2,
    quantize: Annotated[Optional[bool], typer.Option("--quantize/--no-quantize", help="int8; default: manifest")] = None,
    record: Annotated[Optional[str], typer.Option(help="store the scores in the model manifest under this name")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
) -> None:
    """Strict precision / recall / F1 per entity type (start, end and type must all match)."""
    from nlp.ner import NerTagger
    from nlp.ner.corpus import read_corpus
    from nlp.ner.metrics import format_table
    from nlp.ner.train import evaluate, sha256_file, write_manifest

    tagger = _load_or_exit(model, threads, quantize)
    docs = read_corpus(corpus)
    scores = evaluate(tagger, docs)
    typer.echo(json.dumps(scores, ensure_ascii=False, indent=2) if as_json else format_table(scores))
    if record:
        manifest = dict(tagger.manifest)
        manifest.setdefault("evaluations", {})[record] = {
            "corpus": corpus.name, "sha256": sha256_file(corpus), "docs": len(docs),
            "quantized": tagger.quantized, "scores": scores}
        write_manifest(model, manifest)


def ner_command(
    input: Annotated[str, typer.Argument(help="notes as JSON lines ({id, text}); '-' = standard input")],
    output: Annotated[str, typer.Option(help="entities as JSON lines; '-' = standard output")] = "-",
    model: Annotated[Path, typer.Option(help="model directory")] = DEFAULT_MODEL,
    batch_size: int = 16, threads: Optional[int] = None,
    quantize: Annotated[Optional[bool], typer.Option("--quantize/--no-quantize", help="int8; default: manifest")] = None,
) -> None:
    """Tag entities: one output line per input line, offsets into the original text."""
    console = _stderr_console()
    try:
        lines = _read_lines(input)
    except OSError as exc:
        console.print(f"[red]无法读取输入 / cannot read input: {exc}[/red]")
        raise typer.Exit(2)
    tagger = _load_or_exit(model, threads, quantize)
    bad = 0
    sink = sys.stdout if output == "-" else open(output, "w", encoding="utf-8")
    try:
        with _line_progress(console, len(lines)) as advance:
            for block in _blocks(lines, BLOCK):
                parsed = [_parse(raw) for raw in block]
                good = [p for p in parsed if "error" not in p]
                entities = tagger.predict([p["text"] for p in good], batch_size=batch_size)
                found = iter(entities)
                for p in parsed:
                    if "error" in p:
                        bad += 1
                        row = {"id": p["id"], "error": p["error"]}
                    else:
                        row = {"id": p["id"], "entities": [e.to_dict() for e in next(found)]}
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                advance(len(block))
    finally:
        if sink is not sys.stdout:
            sink.close()
        else:
            sink.flush()
    if bad:
        console.print(f"{bad} 行输入有误 / {bad} bad input line(s)")
        raise typer.Exit(1)


def _load_or_exit(model: Path, threads: int | None, quantize: bool | None):
    from nlp.ner import NerTagger
    try:
        return NerTagger.load(model, threads=threads, quantize=quantize)
    except FileNotFoundError as exc:
        _stderr_console().print(f"[red]{exc}[/red]")
        raise typer.Exit(2)


def _read_lines(path: str) -> list[bytes]:
    data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    lines = data.split(b"\n")
    if lines and lines[-1].strip() == b"":
        lines.pop()                      # the newline that ends the last line
    return lines


def _parse(raw: bytes) -> dict:
    """{"id", "text"} of a good line, or {"id", "error"} of a bad one."""
    from nlp.types import InputError, NoteInput
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {"id": None, "error": f"不是有效的 JSON / invalid JSON: {exc}"}
    nid = obj.get("id") if isinstance(obj, dict) else None
    try:
        note = NoteInput.from_dict(obj)
    except InputError as exc:
        return {"id": nid, "error": str(exc)}
    return {"id": nid, "text": note.text}     # the id as given (a number stays a number)


def _blocks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _line_progress(console, total: int):
    from contextlib import contextmanager, nullcontext

    if not console.is_terminal:
        return nullcontext(lambda n: None)

    @contextmanager
    def bar():
        from rich.progress import Progress
        with Progress(console=console, transient=True) as p:
            task = p.add_task("NER", total=total)
            yield lambda n: p.update(task, advance=n)
    return bar()
