from nlp.normalize import Normalizer, normalize_text


def test_length_preserving_and_mappings():
    raw = "ＢＰ １２０／７０ｍｍＨｇ，醫院護理記錄：患者叒跌倒"
    norm = normalize_text(raw)
    assert len(norm) == len(raw)
    assert norm == "bp 120/70mmhg,医院护理记录:患者 跌倒"


def test_units_and_symbols_kept():
    assert normalize_text("T 36.5℃，WBC 5.2×10^9/L") == "t 36.5℃,wbc 5.2×10^9/l"


def test_component_fills_norm(make_doc):
    doc = make_doc("墜床")
    doc._.norm = None
    Normalizer()(doc)
    assert doc._.norm == "坠床"
