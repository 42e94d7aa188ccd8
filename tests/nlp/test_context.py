import pytest

from nlp.context import ContextComponent, ContextRules


def assess(rules, text, mention, category="fall", section=None, note_type=None):
    i = text.index(mention)
    return rules.assess(rules.index(text), i, i + len(mention), category=category, section=section,
                        note_type=note_type)


@pytest.mark.parametrize("text,mention,modifier", [
    ("否认跌倒史。", "跌倒", "negated"),
    ("患者未发生跌倒。", "跌倒", "negated"),
    ("皮肤完好无压疮。", "压疮", "negated"),
    ("压疮:无,跌倒:无", "压疮", "negated"),
    ("morse跌倒评估50分,高危。", "跌倒", "risk_score"),
    ("落实防跌倒措施。", "跌倒", "hypothetical"),
    ("如出现头晕应卧床,防止跌倒。", "跌倒", "hypothetical"),
    ("拟行再次手术。", "再次手术", "hypothetical"),
    ("入院前3天在家中不慎摔倒。", "摔倒", "historical"),
    ("患者因跌倒致右髋疼痛2小时入院。", "跌倒", "historical"),
    ("2年前跌倒致骨折。", "跌倒", "historical"),
    ("院外带入骶尾部压疮。", "压疮", "historical"),
    ("其母亲上周跌倒。", "跌倒", "experiencer"),
    ("同病房患者昨晚坠床。", "坠床", "experiencer"),
])
def test_modifiers(context_rules, text, mention, modifier):
    assert modifier in assess(context_rules, text, mention).modifiers


@pytest.mark.parametrize("text,mention", [
    ("患者今晨如厕时跌倒,无明显外伤。", "跌倒"),
    ("家属发现患者坠床。", "坠床"),            # the experiencer scope ends at 患者
    ("入院后第3天夜间跌倒。", "跌倒"),          # 入院后 is not 'before admission'
    ("患者跌倒后加强防跌倒宣教。", "跌倒"),     # the prevention cue comes after 跌倒后
    ("否认跌倒史,今日如厕时跌倒。", "跌倒"),    # second mention: negation ends at the comma
    ("患者无明显诱因出现呕吐后误吸。", "误吸"),  # 无明显诱因 is a pseudo cue
])
def test_no_modifier(context_rules, text, mention):
    i = text.rindex(mention) if text.startswith("否认") else text.index(mention)
    a = context_rules.assess(context_rules.index(text), i, i + len(mention), category="fall")
    assert a.suppressed_by is None, a.modifiers


def test_applies_to_limits_rule(context_rules):
    text = "遵医嘱拔除胃管。"
    assert "planned" in assess(context_rules, text, "拔除", category="unplanned_extubation").modifiers
    assert "planned" not in assess(context_rules, text, "拔除", category="fall").modifiers


def test_sections(context_rules):
    a = assess(context_rules, "主诉:不慎摔倒致腰痛1天。", "摔倒", section="主诉", note_type="入院记录")
    assert a.modifiers.get("historical") == "section.主诉"
    a = assess(context_rules, "过敏史:对青霉素过敏。", "过敏", category="adverse_drug_reaction", section="过敏史")
    assert "historical" in a.modifiers


def test_component_annotates_spans(context_rules, make_doc):
    doc = make_doc("否认跌倒史。")
    span = doc.char_span(2, 4, label="fall")
    span._.attrs = {"category": "fall", "start": 2, "end": 4}
    doc.spans["event_candidates"] = [span]
    ContextComponent(context_rules)(doc)
    s = doc.spans["event_candidates"][0]
    assert s._.negated and "neg.fouren" in s._.context_rules and s._.experiencer == "patient"


def test_unknown_key_rejected(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("version: '1'\nrules:\n  - {id: a, pattern: 否认, category: negated, window: 3}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown key"):
        ContextRules(p)


def test_bad_category_rejected(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("version: '1'\nrules:\n  - {id: a, pattern: 否认, category: maybe}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown category"):
        ContextRules(p)
