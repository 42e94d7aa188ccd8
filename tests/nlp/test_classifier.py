import json

import pytest

from nlp.classifier import EventClassifier, EventClassifierStep, sentence_window
from nlp.classifier.corpus import generate, generate_labelled
from nlp.classifier.data import load_corpus, note_examples, windows
from nlp.context import set_span_attrs, span_attrs
from nlp.normalize import normalize_text
from nlp.types import NoteInput

CATS = ["fall", "pressure_injury", "unplanned_extubation", "medication_error", "adverse_drug_reaction",
        "transfusion_reaction", "infusion_injury", "healthcare_associated_infection", "surgical_event",
        "identification_error", "self_harm_elopement", "cardiac_arrest_unexpected_death", "burn_scald",
        "aspiration_choking", "restraint_injury", "equipment_failure", "hospital_acquired_vte", "critical_value_delay"]


@pytest.fixture(scope="module")
def clf(data_dir):
    return EventClassifier.load(data_dir / "models" / "event-clf")


def test_shipped_model_has_manifest(data_dir):
    d = data_dir / "models" / "event-clf"
    m = json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    assert m["parameters"] < 5_000_000 and len(m["weights_sha256"]) == 64 and m["seed"] == 13
    assert sorted(m["labels"]) == sorted(CATS) and m["command"].startswith("aew train-clf")
    assert m["corpus"]["written_examples"] >= 6000 and m["pretrain_epochs"] > 0
    assert m["cue_filter"]["held_out_event_windows_with_cue"] >= 0.97
    assert len(json.loads((d / "cues.json").read_text(encoding="utf-8"))) == m["cue_filter"]["cues"]


def test_written_corpus_is_large_and_valid(data_dir):
    rows = load_corpus(data_dir / "corpus" / "events", CATS)
    notes = sum(1 for p in (data_dir / "corpus" / "events").glob("*_notes.jsonl")
                for line in p.read_text(encoding="utf-8").splitlines() if line.strip())
    assert notes >= 1000 and len(rows) >= 6000
    assert {c for _, cs, _ in rows for c in cs} == set(CATS)


def test_scores_event_vs_hard_negative(clf):
    p_event, p_neg, p_risk = clf.predict(["患者夜间如厕时不慎跌倒,右髋部着地。", "否认跌倒史。",
                                          "morse跌倒评估55分,高危,已宣教防跌倒。"])
    assert p_event["fall"] > 0.5 > max(p_neg["fall"], p_risk["fall"])


def test_indirect_events_are_recognised(clf):
    """Events told by what was found, without their names: a patient on the floor, a tube that moved out."""
    for text, cat in (("22:10巡视见患者坐于床旁地上，诉右髋疼痛，通知医生。", "fall"),
                      ("交班时发现胃管外露长度由55cm变为30cm，重新置管。", "unplanned_extubation")):
        p = clf.predict([normalize_text(text)])[0]
        assert max(p, key=p.get) == cat and p[cat] > 0.85, (text, p[cat])


def test_template_corpus_is_deterministic_and_balanced():
    a, b = generate(13), generate(13)
    assert a == b
    pos = sum(y for _, y in a)
    assert 0.3 < pos / len(a) < 0.7
    assert {c for _, cs in generate_labelled(13) for c in cs} == set(CATS)


def test_sentence_window():
    norm = "患者一般情况可。今晨如厕时跌倒,无外伤。继续观察。"
    i = norm.index("跌倒")
    assert sentence_window(norm, i, i + 2) == "今晨如厕时跌倒,无外伤。"


def test_windows_cut_long_sentences_at_clauses():
    norm = "，".join(["患者生命体征平稳无特殊不适主诉"] * 12) + "。短句子很短。"
    ws = windows(norm)
    assert all(e - s <= 95 for s, e in ws) and ws[-1] == (len(norm) - 6, len(norm))
    assert all(norm[s - 1] == "，" for s, _ in ws[1:-1])        # cut after a clause end


def test_note_examples_label_the_evidence_window():
    note = {"text": "21:00生命体征平稳。23:10巡视见患者坐于床旁地上，诉右髋痛。继续观察。",
            "events": [{"category": "fall", "evidence": "23:10巡视见患者坐于床旁地上"}]}
    ex = note_examples(note)
    assert [c for _, c in ex] == [[], ["fall"], []]


class FixedModel:
    """A classifier with fixed answers, to test the step's mechanics apart from any trained weights."""
    version = "t"
    cues = None

    def __init__(self, scores):
        self.scores = scores

    def has_cue(self, text):
        return True

    def predict(self, texts):
        out = []
        for t in texts:
            p = {}
            for key, c, v in self.scores:
                if key in t:
                    p[c] = max(p.get(c, 0.0), v)
            out.append(p)
        return out


def test_step_raises_a_candidate_at_its_best_clause_and_blends_rules(make_doc):
    text = "患者今晨诉头晕，护士巡视时见其坐于地上，左肘擦伤。继续观察。"
    doc = make_doc(text)
    model = FixedModel([("坐于地上", "fall", 0.95), ("头晕", "fall", 0.2), ("擦伤", "fall", 0.6)])
    EventClassifierStep(model, raise_at=0.9)(doc)
    (span,) = list(doc.spans["event_candidates"])
    at = span_attrs(span)
    assert at["trigger"] == "model-event-clf-t" and text[at["start"]:at["end"]] == "护士巡视时见其坐于地上"
    # below the threshold nothing is raised; a rule candidate gets the model's probability blended in
    doc = make_doc(text)
    sp = doc.char_span(text.index("擦伤"), text.index("擦伤") + 2, label="fall")
    set_span_attrs(sp, {"category": "fall", "trigger": "core", "confidence": 0.8, "start": sp.start_char,
                        "end": sp.end_char, "anchor_start": sp.start_char, "anchor_end": sp.end_char})
    doc.spans["event_candidates"] = [sp]
    EventClassifierStep(model, raise_at=0.99, weight=0.5)(doc)
    (span,) = list(doc.spans["event_candidates"])
    assert span_attrs(span)["confidence"] == round(0.5 * 0.8 + 0.5 * 0.95, 3)


def test_model_findings_meet_the_context_rules(scanner):
    """A model candidate is judged like a rule candidate: negated or historical mentions are not findings, and a
    finding the model raised names the model in its rule and explanation."""
    res = scanner.scan(NoteInput(id="m1", text="02:35巡视见胃管整根落在床旁地面上，鼻贴仍粘在鼻翼，患者烦躁，"
                                                "立即报告医生重新置管。", note_type="护理记录"))
    ue = [f for f in res.findings if f.category == "unplanned_extubation"]
    assert ue
    if ue[0].rule.startswith("model-event-clf"):
        assert "事件分类模型" in ue[0].explanation
    res = scanner.scan(NoteInput(id="m2", text="既往史：3年前曾因胃管脱出重新置管。", note_type="入院记录"))
    assert not [f for f in res.findings if f.kind == "event"]


def test_tiny_training_run(tmp_path):
    from nlp.classifier.train import train
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "w_sentences.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "患者如厕时跌倒", "labels": ["fall"]}, {"text": "否认跌倒史", "labels": []},
        {"text": "胃管脱出", "labels": ["unplanned_extubation"]}]) + "\n", encoding="utf-8")
    (corpus / "w_notes.jsonl").write_text(json.dumps(
        {"text": "生命体征平稳。巡视见患者坐于地上。", "events": [{"category": "fall", "evidence": "坐于地上"}]},
        ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "real.txt").write_text("患者入院后完善检查。\n腹软，无压痛。\n", encoding="utf-8")
    m = train(tmp_path / "clf", corpus=corpus, pretrain=[str(tmp_path / "real.txt")], epochs=1, pretrain_epochs=1,
              limit=80, hidden=32, layers=1, heads=2, cache_dir=tmp_path / "cache")
    assert (tmp_path / "clf" / "model.safetensors").exists() and m["corpus"]["written_examples"] == 5
    assert m["history"]["pretrain"] and list((tmp_path / "cache").iterdir())
    again = train(tmp_path / "clf2", corpus=corpus, pretrain=[str(tmp_path / "real.txt")], epochs=1,
                  pretrain_epochs=1, limit=80, hidden=32, layers=1, heads=2, cache_dir=tmp_path / "cache")
    assert again["history"]["pretrain"] == m["history"]["pretrain"]          # the cached encoder was reused
    p = EventClassifier.load(tmp_path / "clf").predict(["患者跌倒。"])[0]
    assert set(p) == set(CATS) and all(0 <= v <= 1 for v in p.values())
