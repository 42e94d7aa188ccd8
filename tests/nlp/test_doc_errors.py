"""Documentation-error detectors: knowledge tables, each detector alone on hand-built Docs, and the labelled
cases of tests/data/doc_errors_cases.jsonl (an error case and its clean twin for every case) per type."""
from __future__ import annotations

import collections
import json
import shutil
from pathlib import Path

import pytest
import spacy

import nlp.doc  # noqa: F401
from nlp.doc_errors import DETECTORS, Detector, KnowledgeError, detect, load_knowledge
from nlp.types import NoteInput

CASES = Path(__file__).resolve().parent.parent / "data" / "doc_errors_cases.jsonl"
FLOOR = {"recall": 0.9, "precision": 0.9}


@pytest.fixture(scope="module")
def blank():
    return spacy.blank("zh")


def make_doc(blank, text, sex=None, age=None, allergies=(), time=None, history=(), with_note=True):
    doc = blank.make_doc(text)
    if with_note:
        d = {"id": "t", "text": text, "time": time, "patient": {"sex": sex, "age": age, "allergies": list(allergies)}}
        doc._.note = NoteInput.from_dict(d)
        doc._.history = [NoteInput.from_dict({"id": f"h{i}", **h}) for i, h in enumerate(history)]
    return doc


# ---- knowledge tables -------------------------------------------------------------------------------------

def test_every_table_loads_and_is_consistent():
    kb = load_knowledge()
    assert len(kb.drugs) >= 200
    for d in kb.drugs.values():
        assert 0 < d.usual_min <= d.usual_max <= d.max_single <= d.max_daily, d.drug
        assert d.source and d.unit in {"mg", "g", "μg", "U", "ml"}
    for name, spec in kb.classes.items():
        assert spec["allergy_terms"], name
        assert spec["members"], f"{name}: no drug belongs to this class"
    for r in kb.ranges:
        assert r.low <= r.high and r.unit and r.source
    assert set(kb.versions) >= {"drug_doses", "drug_classes", "plausible_ranges", "sex_specific", "age_specific",
                                "laterality", "typo_terms", "infusion_rates"}


def _broken_copy(tmp_path, name, old, new):
    src = Path(nlp.doc.__file__).resolve().parent.parent / "data" / "knowledge"
    dst = tmp_path / "knowledge"
    shutil.copytree(src, dst)
    p = dst / name
    p.write_text(p.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("name,old,new,needle", [
    ("drug_doses.tsv", "\t800000\t4000000\t5000000\t24000000", "\t800000\t4000000\t500\t24000000", "drug_doses.tsv"),
    ("drug_doses.tsv", "\tU\t800000", "\tkg\t800000", "unknown unit"),
    ("drug_classes.yaml", "    cross: []\n", "    cross: []\n    colour: red\n", "unknown keys"),
    ("plausible_ranges.tsv", "\t25\t45\t", "\t45\t25\t", "plausible_ranges.tsv"),
    ("sex_specific.yaml", "version: 1.1.0\n", "version: 1.1.0\nlanguage: zh\n", "unknown keys"),
    ("infusion_rates.tsv", "多巴胺\tμg/kg/min", "多巴胺注射液\tμg/kg/min", "not a known generic"),
    ("infusion_rates.tsv", "多巴胺\tμg/kg/min", "多巴胺\tμg/min", "unit must be"),
])
def test_a_bad_table_names_the_file(tmp_path, name, old, new, needle):
    data_dir = _broken_copy(tmp_path, name, old, new)
    with pytest.raises(KnowledgeError, match=needle.replace(".", r"\.")):
        load_knowledge(data_dir)


# ---- one detector alone -----------------------------------------------------------------------------------

def only(kind):
    return Detector(only=[kind])


def test_sex_from_text_when_note_is_missing(blank):
    doc = make_doc(blank, "患者男，48岁。专科检查：阴道通畅，宫颈光滑。", with_note=False)
    fs = only("sex_mismatch")(doc)
    assert [f.category for f in fs] == ["sex_mismatch"]
    assert doc.text[fs[0].start:fs[0].end] == fs[0].evidence and "阴道" in fs[0].evidence


def test_breast_in_a_man_and_family_history_are_not_sex_errors(blank):
    doc = make_doc(blank, "双侧乳腺对称，未触及肿块。其母亲有子宫肌瘤病史。", sex="男", age=50)
    assert only("sex_mismatch")(doc) == []


def test_normalised_text_is_used_and_offsets_point_into_the_original(blank):
    text = "ＢＰ １２００／８０ｍｍＨｇ，Ｐ ８０次／分。"
    doc = make_doc(blank, text, sex="女", age=40)
    import unicodedata
    doc._.norm = "".join(unicodedata.normalize("NFKC", ch) if len(unicodedata.normalize("NFKC", ch)) == 1 else ch
                         for ch in text)
    fs = only("implausible_vital")(doc)
    assert len(fs) == 1 and fs[0].evidence == text[fs[0].start:fs[0].end] and fs[0].evidence.startswith("１２００")


def test_pipeline_sections_are_used_when_present(blank):
    from spacy.tokens import Span
    text = "诊断 右肺上叶肺癌 手术 胸腔镜下左肺上叶切除术"
    doc = make_doc(blank, text, sex="男", age=60)
    doc.spans["sections"] = [doc.char_span(0, 10, label="术前诊断", alignment_mode="expand"),
                             doc.char_span(10, len(text), label="手术名称", alignment_mode="expand")]
    assert isinstance(doc.spans["sections"][0], Span)
    fs = only("laterality_conflict")(doc)
    assert [f.evidence for f in fs] == ["左肺上叶切除"]


def test_negated_allergy_is_not_an_allergy(blank):
    doc = make_doc(blank, "否认药物过敏史。予头孢他啶2g 静滴 q8h。", sex="男", age=70)
    assert only("allergy_conflict")(doc) == []


def test_patient_allergies_count(blank):
    doc = make_doc(blank, "予阿莫西林0.5g 口服 tid。", sex="女", age=30, allergies=["青霉素"])
    assert [f.evidence for f in only("allergy_conflict")(doc)] == ["阿莫西林"]


def test_daily_dose_above_maximum(blank):
    doc = make_doc(blank, "予氨氯地平10mg 口服 tid。", sex="男", age=60)
    fs = only("dose_out_of_range")(doc)
    assert len(fs) == 1 and "每日" in fs[0].explanation


def test_copy_paste_needs_history(blank):
    text = "患者病情平稳，今日术后第2天，切口无渗出，继续目前治疗。"
    assert only("copy_paste")(make_doc(blank, text, time="2024-09-05T08:00:00")) == []


def test_detect_uses_the_repository_tables(blank):
    doc = make_doc(blank, "血钠 1380mmol/L。", sex="男", age=50)
    fs = detect(doc)
    assert [(f.kind, f.category, f.severity) for f in fs] == [("doc_error", "implausible_lab", "IV")]
    assert fs[0].rule.endswith(".v1") and fs[0].explanation and 0 < fs[0].confidence <= 1


def test_unknown_detector_name_is_refused():
    with pytest.raises(ValueError):
        Detector(only=["spelling"])


# ---- labelled cases ---------------------------------------------------------------------------------------

def _load_cases():
    with open(CASES, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score_cases(blank, cases):
    det = Detector()
    per = collections.defaultdict(lambda: [0, 0, 0])
    misses = []
    for c in cases:
        p = c.get("patient") or {}
        doc = make_doc(blank, c["text"], p.get("sex"), p.get("age"), p.get("allergies") or (), c.get("time"),
                       c.get("history") or ())
        found = det(doc)
        for f in found:
            assert doc.text[f.start:f.end] == f.evidence
            assert f.kind == "doc_error" and f.severity == "IV"
        used = set()
        for g in c["gold"]:
            occ = [i for i in range(len(c["text"])) if c["text"].startswith(g["evidence"], i)]
            hit = next((i for i, f in enumerate(found) if i not in used and f.category == g["category"]
                        and any(f.start < o + len(g["evidence"]) and o < f.end for o in occ)), None)
            if hit is None:
                per[g["category"]][2] += 1
                misses.append(f"FN {c['id']}: {g['evidence']}")
            else:
                used.add(hit)
                per[g["category"]][0] += 1
        for i, f in enumerate(found):
            if i not in used:
                per[f.category][1] += 1
                misses.append(f"FP {c['id']}: {f.category} {f.evidence}")
    return per, misses


def test_labelled_cases_per_type(blank):
    cases = _load_cases()
    assert len(cases) >= 250
    errors = [c for c in cases if c["gold"]]
    assert len(cases) - len(errors) >= len(errors), "every error case has a clean twin"
    per, misses = score_cases(blank, cases)
    lines = []
    for cat in sorted(DETECTORS):
        tp, fp, fn = per[cat]
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 0.0
        lines.append(f"{cat:20s} P={p:.2f} R={r:.2f} ({tp}/{fp}/{fn})")
        assert tp + fn > 0, f"no labelled case for {cat}"
    print("\n".join(lines + misses))
    for cat in DETECTORS:
        tp, fp, fn = per[cat]
        assert tp / (tp + fn) >= FLOOR["recall"], f"{cat} recall below floor:\n" + "\n".join(lines + misses)
        assert tp / max(1, tp + fp) >= FLOOR["precision"], f"{cat} precision below floor:\n" + "\n".join(lines + misses)
