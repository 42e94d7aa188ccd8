"""aew_adr_knowledge: a drug's known reactions explain an adverse-drug-reaction finding, and change nothing else."""
from __future__ import annotations

import pytest

from nlp.adr_knowledge import AdrKnowledge, AdrTableError, drug_keys, load_reactions, written_forms
from nlp.types import Finding, NoteInput

NOTE = "说明书/知识库记载的不良反应"


def _finding(text: str, evidence: str, category: str = "adverse_drug_reaction") -> Finding:
    start = text.index(evidence)
    return Finding(kind="event", category=category, severity="II", start=start, end=start + len(evidence),
                   evidence=evidence, confidence=0.9, rule="event.adverse_drug_reaction.v1",
                   explanation="病历中记载发生药物不良反应/过敏反应。")


def _doc(make_doc, text: str, drugs: dict[str, dict], findings: list[Finding]):
    doc = make_doc(text)
    spans = []
    for name, attrs in drugs.items():
        i = text.index(name)
        span = doc.char_span(i, i + len(name), label="药物")
        span._.attrs = {**attrs, "start": i, "end": i + len(name)}
        spans.append(span)
    doc.spans["entities"] = spans
    doc._.findings = findings
    return doc


TABLE = {"头孢曲松": ("皮疹", "瘙痒症", "过敏"), "氯化钾": ("高钾血症",), "卡培他滨": ("腹泻",)}


def test_drug_keys_strip_form_and_salt():
    assert drug_keys("注射用头孢曲松钠") == ("注射用头孢曲松钠", "头孢曲松钠", "头孢曲松")
    assert drug_keys("盐酸吗啡注射液")[-1] == "吗啡"
    assert drug_keys("硝酸甘油片")[-1] == "硝酸甘油"        # 硝酸 is not a salt to strip
    assert drug_keys("碳酸氢钠片")[-1] == "碳酸氢钠"        # nor 钠 after 氢
    assert drug_keys("硫酸镁注射液")[-1] == "硫酸镁"        # a one-character remainder stays whole


def test_written_forms():
    assert written_forms("瘙痒症") == ("瘙痒症", "瘙痒")
    assert written_forms("高钾血症") == ("高钾血症", "高钾")
    assert written_forms("皮疹") == ("皮疹",)


def test_known_reaction_is_noted(make_doc):
    text = "静滴头孢曲松约10分钟后患者胸前出现散在皮疹，立即停药。"
    f = _finding(text, "皮疹")
    doc = AdrKnowledge(TABLE)(_doc(make_doc, text, {"头孢曲松": {}}, [f]))
    assert f.explanation.endswith("（皮疹为头孢曲松" + NOTE + "）")
    assert doc._.findings == [f]


def test_unrelated_drug_gets_no_note(make_doc):
    text = "静滴氯化钾约10分钟后患者胸前出现散在皮疹，立即停药。"
    f = _finding(text, "皮疹")
    before = f.explanation
    AdrKnowledge(TABLE)(_doc(make_doc, text, {"氯化钾": {}}, [f]))
    assert f.explanation == before


def test_brand_uses_generic_attribute_and_written_form(make_doc):
    text = "输注罗氏芬后患者诉全身瘙痒。"
    f = _finding(text, "瘙痒")
    AdrKnowledge(TABLE)(_doc(make_doc, text, {"罗氏芬": {"generic": "头孢曲松"}}, [f]))
    assert "（瘙痒为罗氏芬" + NOTE + "）" in f.explanation


def test_treatment_aim_and_treatment_drug_are_not_reactions(make_doc):
    text = "口服卡培他滨后出现腹泻，予抗过敏治疗，改用头孢曲松。"
    f = _finding(text, "腹泻")
    AdrKnowledge(TABLE)(_doc(make_doc, text, {"卡培他滨": {}, "头孢曲松": {}}, [f]))
    assert "腹泻为卡培他滨" in f.explanation
    assert "过敏为" not in f.explanation and "头孢曲松" + NOTE not in f.explanation


def test_drug_given_as_treatment_is_not_the_cause(make_doc):
    text = "静滴头孢曲松后出现皮疹，予地塞米松治疗。"
    f = _finding(text, "皮疹")
    table = {**TABLE, "地塞米松": ("皮疹",)}
    AdrKnowledge(table)(_doc(make_doc, text, {"头孢曲松": {}, "地塞米松": {}}, [f]))
    assert "（皮疹为头孢曲松" + NOTE + "）" in f.explanation and "地塞米松" not in f.explanation


def test_other_categories_and_findings_untouched(make_doc):
    text = "静滴头孢曲松后患者出现皮疹。"
    other = _finding(text, "皮疹", category="fall")
    before = other.explanation
    doc = AdrKnowledge(TABLE)(_doc(make_doc, text, {"头孢曲松": {}}, [other]))
    assert other.explanation == before and doc._.findings == [other]


def test_shipped_table_loads(data_dir):
    table = load_reactions(str(data_dir / "knowledge" / "drug_adverse_reactions.tsv"))
    assert "皮疹" in table["头孢曲松"] and len(table) > 1000


def test_table_without_version_is_refused(tmp_path):
    p = tmp_path / "t.tsv"
    p.write_text("drug\treaction\tentries\n头孢曲松\t皮疹\t1\n", encoding="utf-8")
    with pytest.raises(AdrTableError, match="version"):
        load_reactions(str(p))


def test_pipeline_notes_known_reaction_only(scanner):
    names = scanner.nlp.pipe_names        # after the detectors and frames that make findings, before the NER
    assert names.index("aew_doc_errors") < names.index("aew_event_frames") < names.index("aew_adr_knowledge")
    known = scanner.scan(NoteInput(id="a", text="静滴头孢曲松约10分钟后患者胸前出现散在皮疹，立即停药，予地塞米松5mg静推。",
                                   note_type="护理记录"))
    adr = [f for f in known.findings if f.category == "adverse_drug_reaction"]
    assert adr and any("为头孢曲松" + NOTE in f.explanation for f in adr)
    assert not any("地塞米松" + NOTE in f.explanation for f in adr)
    other = scanner.scan(NoteInput(id="b", text="静滴氯化钾约10分钟后患者胸前出现散在皮疹，立即停药。", note_type="护理记录"))
    adr = [f for f in other.findings if f.category == "adverse_drug_reaction"]
    assert adr and not any(NOTE in f.explanation for f in adr)
