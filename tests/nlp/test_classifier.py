import json

import pytest

from nlp.classifier import EventClassifier, EventClassifierStep, sentence_window
from nlp.classifier.corpus import generate
from nlp.types import Finding


@pytest.fixture(scope="module")
def clf(data_dir):
    return EventClassifier.load(data_dir / "models" / "event-clf")


def test_shipped_model_has_manifest(data_dir):
    m = json.loads((data_dir / "models" / "event-clf" / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"] < 5_000_000 and len(m["weights_sha256"]) == 64 and m["seed"] == 13


def test_scores_event_vs_negation(clf):
    p_event, p_neg = clf.predict(["患者夜间如厕时不慎跌倒,右髋部着地。", "否认跌倒史。"])
    assert p_event > 0.5 > p_neg


def test_corpus_is_deterministic_and_balanced():
    a, b = generate(13), generate(13)
    assert a == b
    pos = sum(y for _, y in a)
    assert 0.3 < pos / len(a) < 0.7


def test_sentence_window():
    norm = "患者一般情况可。今晨如厕时跌倒,无外伤。继续观察。"
    i = norm.index("跌倒")
    assert sentence_window(norm, i, i + 2) == "今晨如厕时跌倒,无外伤。"


def test_step_vetoes_only_below_threshold(clf, make_doc):
    text = "患者夜间如厕时不慎跌倒,右髋部着地。"
    p = clf.predict([text])[0]
    for veto, kept in ((p - 1e-6, True), (p + 1e-6, False)):
        doc = make_doc(text)
        f = Finding("event", "fall", "III", 9, 11, "跌倒", 0.9, "event.fall.core.v1", "x")
        doc._.findings = [f]
        EventClassifierStep(clf, veto_below=veto, weight=0.5)(doc)
        if kept:
            assert doc._.findings == [f] and f.confidence == round(0.5 * 0.9 + 0.5 * p, 3)
        else:
            assert doc._.findings == [] and doc._.suppressed[0].reason == "classifier"


def test_tiny_training_run(tmp_path):
    from nlp.classifier.train import train
    m = train(tmp_path / "clf", epochs=1, limit=64, hidden=32, layers=1, heads=2)
    assert (tmp_path / "clf" / "model.safetensors").exists() and m["metrics"]["train_sentences"] > 0
    assert EventClassifier.load(tmp_path / "clf").predict(["患者跌倒。"])[0] >= 0
