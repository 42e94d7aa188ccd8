"""`aew train-clf`: train the event classifier (see nlp/classifier/train.py and nlp/README.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

ROOT = Path(__file__).resolve().parents[2]


def register(app: typer.Typer) -> None:
    app.command("train-clf")(train_clf_command)


def train_clf_command(
    out: Annotated[Path, typer.Option(help="model directory to write")] = ROOT / "data" / "models" / "event-clf",
    corpus: Annotated[Path, typer.Option(help="labelled corpus folder (sentences and notes, JSON Lines)",
                                         exists=True, file_okay=False)] = ROOT / "data" / "corpus" / "events",
    pretrain_text: Annotated[Optional[list[Path]], typer.Option(
        help="unlabelled clinical text for masked-LM pre-training (files or folders; repeat the option)",
        exists=True)] = None,
    pretrain_epochs: int = 3, epochs: int = 3, seed: int = 13, threads: int = 2, lr: float = 3e-4,
    no_templates: Annotated[bool, typer.Option("--no-templates", help="leave out the template sentences")] = False,
    pretrain_only: Annotated[bool, typer.Option("--pretrain-only", help="only fill the pre-training cache")] = False,
) -> None:
    """Train the event classifier: masked-LM pre-training, then 18-way multi-label fine-tuning; writes the model
    with a manifest (command, corpus digest, held-out figures)."""
    import json
    import sys
    from nlp.classifier.train import train
    m = train(out, corpus=corpus, pretrain=[str(p) for p in pretrain_text or []], epochs=epochs,
              pretrain_epochs=pretrain_epochs, seed=seed, threads=threads, templates=not no_templates,
              command="aew train-clf " + " ".join(sys.argv[2:]), pretrain_only=pretrain_only, lr=lr)
    if pretrain_only:
        typer.echo(json.dumps(m, ensure_ascii=False))
        return
    typer.echo(json.dumps({k: m["metrics"][k] for k in ("held_out_micro_f1", "held_out", "train_seconds")}))
