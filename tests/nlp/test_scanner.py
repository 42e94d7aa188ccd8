import pytest

from nlp.scanner import Scanner, encounter_histories, get_scanner
from nlp.types import NoteInput


def test_scan_contract(scanner):
    text = "ＸＸ患者于今日02:30如厕时不慎跌倒，右侧髋部着地，X线示股骨颈骨折。"
    r = scanner.scan(NoteInput(id="n1", text=text, note_type="护理记录"))
    ev = [f for f in r.findings if f.kind == "event"]
    assert [f.category for f in ev] == ["fall"]
    f = ev[0]
    assert text[f.start:f.end] == f.evidence
    assert f.severity == "II" and 0 < f.confidence <= 1
    assert f.context["negated"] is False and f.context["experiencer"] == "patient"
    d = r.to_dict()
    assert set(d["findings"][0]) >= {"kind", "category", "severity", "start", "end", "evidence", "confidence",
                                     "rule", "explanation", "context"}


def test_negatives_give_suppressed_with_reason(scanner):
    r = scanner.scan(NoteInput(id="n2", text="Morse跌倒评估50分，高危，落实防跌倒措施。否认跌倒史。"))
    assert [f for f in r.findings if f.kind == "event"] == []
    reasons = {(s.category, s.reason) for s in r.suppressed}
    assert ("fall", "negated") in reasons and any(x[1] in ("risk_score", "excluded") for x in reasons)
    assert "suppressed" in r.to_dict(explain=True)


def test_admission_complaint_is_not_an_event(scanner):
    r = scanner.scan(NoteInput(id="n3", text="主诉：不慎摔倒致腰背部疼痛1天。", note_type="入院记录"))
    assert not [f for f in r.findings if f.kind == "event"]


def test_scan_many_keeps_order_and_history(scanner):
    notes = [NoteInput(id="b", text="患者夜间坠床。", encounter_id="E1", time="2024-01-02T08:00:00+08:00"),
             NoteInput(id="a", text="患者一般情况可。", encounter_id="E1", time="2024-01-01T08:00:00+08:00"),
             NoteInput(id="c", text="患者一般情况可。")]
    hist = encounter_histories(notes)
    assert [h.id for h in hist[0]] == ["a"] and hist[1] == [] and hist[2] == []
    results = list(scanner.scan_many(notes, batch_size=2))
    assert [r.note_id for r in results] == ["b", "a", "c"]
    assert [f.category for f in results[0].findings if f.kind == "event"] == ["fall"]


def test_scan_many_equals_scan(scanner):
    notes = [NoteInput(id=str(i), text=t) for i, t in enumerate(
        ["患者自行拔除胃管。", "遵医嘱拔除胃管。", "输血后寒战高热，考虑输血反应。"])]
    many = [[(f.category, f.start) for f in r.findings] for r in scanner.scan_many(notes)]
    one = [[(f.category, f.start) for f in scanner.scan(n).findings] for n in notes]
    assert many == one


def test_entities_have_original_offsets(scanner):
    text = "予頭孢他啶2g靜滴，留置ＰＩＣＣ導管。"
    ents = scanner.entities(text)
    assert ents and all(text[e.start:e.end] == e.text for e in ents)
    assert ("頭孢他啶", "药物") in {(e.text, e.type) for e in ents}
    assert "器械管路" not in {e.type for e in ents}
    assert "器械管路" in {e.type for e in scanner.entities(text, internal_types=True)}


def test_version(scanner):
    from nlp.scanner import data_digest
    assert scanner.version.startswith("rules-")
    assert scanner.version.endswith(f"+data-{data_digest(scanner.data_dir)}")


def test_data_digest_changes_with_any_rule_edit(tmp_path):
    import shutil
    from nlp.scanner import DEFAULT_DATA_DIR, data_digest
    shutil.copytree(DEFAULT_DATA_DIR / "rules", tmp_path / "rules")
    before = data_digest(tmp_path)
    assert data_digest(tmp_path) == before                     # stable
    fall = tmp_path / "rules" / "events" / "fall.yaml"
    fall.write_text(fall.read_text(encoding="utf-8") + "\n# 质控科 2026-11-30 备注\n", encoding="utf-8")
    assert data_digest(tmp_path) != before


def test_missing_data_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing scanner data file"):
        Scanner(tmp_path)


def test_invalid_rule_file_names_the_file(tmp_path, data_dir):
    import shutil
    shutil.copytree(data_dir / "rules", tmp_path / "rules")
    shutil.copytree(data_dir / "lexicons", tmp_path / "lexicons")
    shutil.copy(data_dir / "taxonomy.yaml", tmp_path / "taxonomy.yaml")
    (tmp_path / "rules" / "events" / "fall.yaml").write_text("category: fall\nversion: 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="fall.yaml"):
        Scanner(tmp_path, use_ner_model=False, use_classifier=False)


def test_get_scanner_is_cached(monkeypatch):
    import nlp.scanner as mod
    made = []
    monkeypatch.setattr(mod, "Scanner", lambda d=None: made.append(d) or object())
    monkeypatch.setattr(mod, "_cached", {})
    assert get_scanner() is get_scanner() and len(made) == 1


@pytest.mark.parametrize("text", ["", " ", "\n\n", "。"])
def test_empty_and_blank_notes(scanner, text):
    assert scanner.scan(NoteInput(id="e", text=text)).findings == []
