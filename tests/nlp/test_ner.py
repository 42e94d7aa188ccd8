"""NER model: normalisation, chunking, decoding, a tiny training run, the CLI, and the shipped model."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
typer = pytest.importorskip("typer")
from typer.testing import CliRunner  # noqa: E402

from nlp.ner import NerTagger  # noqa: E402
from nlp.ner.commands import register  # noqa: E402
from nlp.ner.corpus import LABEL2ID, bio_labels, chunk_bounds, read_corpus  # noqa: E402
from nlp.ner.metrics import strict_scores  # noqa: E402
from nlp.ner.model import spans_from_labels, viterbi_decode  # noqa: E402
from nlp.ner.normalize import normalize  # noqa: E402

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "models" / "ner-zh"

# Synthetic documents written for these tests (cEHRNER format).
_DOCS = [
    ("患者予阿莫西林胶囊0.5g口服,诉头痛。", [("阿莫西林胶囊", "药物"), ("头痛", "症状")]),
    ("行胸部ct示右肺结节,诊断肺癌。", [("胸部ct", "影像检查"), ("右肺", "解剖部位"), ("肺癌", "疾病和诊断")]),
    ("查血常规正常,行阑尾切除术。", [("血常规", "实验室检验"), ("阑尾切除术", "手术")]),
    ("予头孢呋辛静滴,患者腹痛缓解。", [("头孢呋辛", "药物"), ("腹痛", "症状")]),
]


def _write_corpus(path: Path, docs=_DOCS, repeat: int = 1) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for _ in range(repeat):
            for text, mentions in docs:
                md = [{"mention": m, "label": t, "offset": str(text.index(m))} for m, t in mentions]
                fh.write(json.dumps({"text": text, "mention_data": md}, ensure_ascii=False) + "\n")
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


# --- pieces ------------------------------------------------------------------------------------------

def test_normalize_keeps_length_and_matches_training_form():
    raw = "予阿莫西林膠囊０．５Ｇ口服，ＣＴ示：　肺部感染\tX"
    norm = normalize(raw)
    assert len(norm) == len(raw)
    assert norm == "予阿莫西林胶囊0.5g口服,ct示:叒肺部感染叒x"


def test_chunks_end_at_sentence_ends_and_never_split_a_span():
    text = "甲" * 50 + "。" + "乙" * 30 + "," + "丙" * 40
    bounds = chunk_bounds(text, 60)
    assert bounds[0] == (0, 51) and bounds[-1][1] == len(text)
    assert all(e - s <= 60 for s, e in bounds)
    spans = [(45, 56, "疾病和诊断")]
    assert all(not (s < 56 and 45 < e and not (s <= 45 and e >= 56)) for s, e in chunk_bounds(text, 60, spans))
    assert chunk_bounds("", 10) == []


def test_viterbi_never_starts_with_inside_label():
    n = len(LABEL2ID)
    lp = torch.full((1, 3, n), -10.0)
    lp[0, 0, LABEL2ID["I-药物"]] = 0.0     # the argmax would be an illegal I- start
    lp[0, 0, LABEL2ID["B-药物"]] = -1.0
    lp[0, 1, LABEL2ID["I-药物"]] = 0.0
    lp[0, 2, LABEL2ID["O"]] = 0.0
    path = viterbi_decode(lp, [3])[0]
    assert spans_from_labels(path) == [(0, 2, "药物")]


def test_bio_round_trip_and_strict_scores():
    spans = [(1, 3, "药物"), (5, 6, "症状")]
    assert spans_from_labels(bio_labels(8, spans)) == spans
    s = strict_scores([spans], [[(1, 3, "药物"), (5, 7, "症状")]])
    assert s["micro"]["tp"] == 1 and s["micro"]["precision"] == 0.5 and s["药物"]["f1"] == 1.0


# --- a tiny training run through the CLI -----------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ner")
    train = _write_corpus(d / "train.json", repeat=4)
    dev = _write_corpus(d / "dev.json")
    out = d / "model"
    result = CliRunner().invoke(_app(), [
        "train-ner", "--train", str(train), "--dev", str(dev), "--out", str(out),
        "--epochs", "2", "--max-steps", "6", "--hidden", "32", "--layers", "1", "--heads", "2",
        "--intermediate", "64", "--max-len", "32", "--batch-size", "4", "--threads", "1"])
    assert result.exit_code == 0, result.output
    return out


def test_tiny_training_writes_a_loadable_model_with_manifest(tiny_model):
    manifest = json.loads((tiny_model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["hyperparameters"]["hidden"] == 32
    assert len(manifest["data"]["train"]["sha256"]) == 64
    assert set(manifest["files"]) >= {"config.json", "model.safetensors", "vocab.json", "bigrams.json",
                                      "lexicon.json"}
    assert manifest["arch"] == "hybrid"
    assert "micro" in manifest["metrics"]["dev"]
    tagger = NerTagger.load(tiny_model, threads=1)
    texts = ["ＣＴ示右肺結節。", ""]
    out = tagger.predict(texts)
    assert len(out) == 2 and out[1] == []
    for e in out[0]:
        assert texts[0][e.start:e.end] == e.text and e.source == "model"


def test_load_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-ner"):
        NerTagger.load(tmp_path / "nothing")


def test_eval_ner_prints_per_type_and_records(tiny_model, tmp_path):
    corpus = _write_corpus(tmp_path / "c.json")
    result = CliRunner().invoke(_app(), ["eval-ner", "--corpus", str(corpus), "--model", str(tiny_model),
                                         "--threads", "1", "--json", "--record", "unit"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert set(scores) >= {"micro", "药物", "症状"}
    manifest = json.loads((tiny_model / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["evaluations"]["unit"]["docs"] == len(_DOCS)


def test_ner_command_one_line_per_input_line(tiny_model, tmp_path):
    notes = tmp_path / "notes.jsonl"
    notes.write_text("\n".join([
        json.dumps({"id": "a", "text": "予阿莫西林胶囊0.5g口服"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "c"}),
        json.dumps({"id": 7, "text": "ＣＴ示右肺结节"}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(_app(), ["ner", str(notes), "--output", str(out), "--model", str(tiny_model)])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r.get("id") for r in rows] == ["a", None, "c", 7]
    assert "entities" in rows[0] and "error" in rows[1] and "error" in rows[2] and "entities" in rows[3]


def test_ner_command_unreadable_input_exits_2(tiny_model, tmp_path):
    result = CliRunner().invoke(_app(), ["ner", str(tmp_path / "missing.jsonl"), "--model", str(tiny_model)])
    assert result.exit_code == 2


# --- the shipped model -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped() -> NerTagger:
    return NerTagger.load(SHIPPED, threads=2)


def test_shipped_model_is_small_and_has_its_manifest():
    total = sum(f.stat().st_size for f in SHIPPED.iterdir() if f.is_file())
    assert total <= 20 * 1024 * 1024
    manifest = json.loads((SHIPPED / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["complete"] is True
    from nlp.ner.train import sha256_file
    for name, entry in manifest["files"].items():
        assert sha256_file(SHIPPED / name) == entry["sha256"], name
    shipped_files = {f.name for f in SHIPPED.iterdir() if f.is_file()} - {"manifest.json", "README.md"}
    assert shipped_files == set(manifest["files"])          # every model file is hashed
    config = json.loads((SHIPPED / "config.json").read_text(encoding="utf-8"))
    assert manifest.get("arch", "bert") == ("hybrid" if config.get("ner_arch") == "hybrid" else "bert")
    for rep in manifest.get("reproductions", []):          # a retrain that claims the same weights names them
        if rep.get("same_weights_as_shipped"):
            assert rep["weights_sha256"] == manifest["files"]["model.safetensors"]["sha256"]
            assert abs(rep["test_micro_f1"] - manifest["evaluations"]["test"]["scores"]["micro"]["f1"]) <= 0.01


def test_shipped_model_tags_a_drug(shipped):
    (ents,) = shipped.predict(["予阿莫西林胶囊0.5g口服"])
    assert any(e.type == "药物" and "阿莫西林" in e.text for e in ents)


def test_shipped_model_offsets_round_trip_on_raw_input(shipped):
    texts = ["患者因“右肺癌”行胸部ＣＴ检查，予阿莫西林胶囊０．５Ｇ口服，诉头痛、腹痛。",
             "ＭＲＩ示：左膝關節半月板損傷。　行左膝关节镜手术。"]
    raw, normal = shipped.predict(texts), shipped.predict([normalize(t) for t in texts])
    for text, ents, norm_ents in zip(texts, raw, normal):
        assert ents, text
        assert [(e.start, e.end, e.type) for e in ents] == [(e.start, e.end, e.type) for e in norm_ents]
        for e in ents:
            assert text[e.start:e.end] == e.text
    assert any(e.type == "药物" for e in raw[0])


def test_shipped_model_windows_long_text(shipped):
    text = "患者诉头痛，予阿莫西林胶囊口服。" * 40     # far longer than one window
    (ents,) = shipped.predict([text])
    assert max(e.end for e in ents) > len(text) - 20
    assert all(text[e.start:e.end] == e.text for e in ents)


def test_pretrain_then_train_from_the_pretrained_encoder(tmp_path):
    corpus = _write_corpus(tmp_path / "c.json", repeat=2)
    small = ["--hidden", "32", "--layers", "1", "--heads", "2", "--intermediate", "64", "--max-len", "32",
             "--batch-size", "4", "--threads", "1", "--max-steps", "3"]
    runner = CliRunner()
    result = runner.invoke(_app(), ["pretrain", "--corpus", str(corpus), "--out", str(tmp_path / "mlm"),
                                    "--epochs", "1", *small])
    assert result.exit_code == 0, result.output
    result = runner.invoke(_app(), ["train-ner", "--train", str(corpus), "--dev", str(corpus), "--out",
                                    str(tmp_path / "ner"), "--epochs", "1", "--init", str(tmp_path / "mlm"),
                                    "--arch", "bert", *small])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "ner" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["init"]["model"] == "ner-zh-mlm"


def test_same_seed_and_threads_give_the_same_weights(tmp_path):
    """Two retrainings from scratch, each in its own process as a retraining is, give identical weights."""
    import subprocess
    import sys
    root = Path(__file__).resolve().parents[2]
    corpus = _write_corpus(tmp_path / "c.json", repeat=2)
    args = ["--train", str(corpus), "--dev", str(corpus), "--epochs", "1", "--hidden", "32", "--layers", "1",
            "--heads", "2", "--intermediate", "64", "--max-len", "32", "--batch-size", "4", "--threads", "1",
            "--max-steps", "4"]
    for name in ("a", "b"):
        p = subprocess.run([sys.executable, "-m", "service.cli", "train-ner", *args, "--out", str(tmp_path / name)],
                           cwd=root, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stdout + p.stderr
    # the tensors must be bit-identical (the file's bytes may differ in safetensors' header layout)
    from safetensors.torch import load_file
    a, b = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    assert sorted(a) == sorted(b)
    assert all(a[k].dtype == b[k].dtype and a[k].shape == b[k].shape and bool((a[k] == b[k]).all()) for k in a)


# --- the hybrid model's pieces ----------------------------------------------------------------------

def test_lexicon_features_mark_begin_middle_end_single():
    from nlp.ner.hybrid import N_LEX, N_TYPES, Lexicon
    lex = Lexicon.from_mentions([("阿莫西林", "药物"), ("肺", "解剖部位")], {"头痛"})
    feats = lex.features("予阿莫西林,头痛,肺")
    assert all(len(f) == N_LEX for f in feats)
    drug = 4 * ["疾病和诊断", "症状", "手术", "药物", "解剖部位", "影像检查", "实验室检验"].index("药物")
    assert feats[1][drug] == 1 and feats[2][drug + 1] == 1 and feats[4][drug + 2] == 1 and feats[0][drug] == 0
    plain = 4 * N_TYPES
    assert feats[6][plain] == 1 and feats[7][plain + 2] == 1
    assert feats[9][4 * 4 + 3] == 1                       # 肺: a single-character anatomy word


def test_crf_decode_is_bio_valid_and_nll_is_positive():
    from nlp.ner.hybrid import CRF
    n = len(LABEL2ID)
    crf = CRF(n)
    em = torch.full((1, 3, n), -10.0)
    em[0, 0, LABEL2ID["I-药物"]] = 0.0
    em[0, 0, LABEL2ID["B-药物"]] = -1.0
    em[0, 1, LABEL2ID["I-药物"]] = 0.0
    em[0, 2, LABEL2ID["O"]] = 0.0
    assert spans_from_labels(crf.decode(em, [3])[0]) == [(0, 2, "药物")]
    tags = torch.tensor([[LABEL2ID["B-药物"], LABEL2ID["I-药物"], 0]])
    assert crf.nll(em, tags, torch.ones(1, 3, dtype=torch.long)).item() > 0


def test_bert_arch_still_trains_and_loads(tmp_path):
    corpus = _write_corpus(tmp_path / "c.json", repeat=2)
    result = CliRunner().invoke(_app(), [
        "train-ner", "--train", str(corpus), "--dev", str(corpus), "--out", str(tmp_path / "m"), "--arch", "bert",
        "--epochs", "1", "--max-steps", "2", "--hidden", "32", "--layers", "1", "--heads", "2",
        "--intermediate", "64", "--max-len", "32", "--batch-size", "4", "--threads", "1"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["files"]) == {"config.json", "model.safetensors", "vocab.json"}
    tagger = NerTagger.load(tmp_path / "m", threads=1)
    assert tagger.features is None and len(tagger.predict(["ＣＴ示右肺結節。"])) == 1
