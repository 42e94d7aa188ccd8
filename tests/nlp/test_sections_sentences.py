import pytest

from nlp.sections import SectionTagger, load_section_rules
from nlp.sentences import Sentencizer, clause_ranges, sentence_ranges


@pytest.fixture(scope="module")
def section_rules(data_dir):
    return load_section_rules(data_dir / "rules" / "sections.yaml")


def test_sections_found(make_doc, section_rules):
    doc = make_doc("主诉：腹痛2天。\n现病史：患者2天前…\n既往史：体健。过敏史：对青霉素过敏。", "入院记录")
    SectionTagger(section_rules)(doc)
    labels = [s.label_ for s in doc.spans["sections"]]
    assert labels == ["主诉", "现病史", "既往史", "过敏史"]
    assert doc.spans["sections"][3].text.startswith("过敏史")


def test_header_needs_colon_or_line_start(make_doc, section_rules):
    doc = make_doc("患者无既往史可询。")
    SectionTagger(section_rules)(doc)
    assert list(doc.spans["sections"]) == []


def test_note_types_canonical(section_rules):
    assert section_rules.canonical_note_type("危重护理记录") == "护理记录"
    assert section_rules.canonical_note_type("首次入院记录") == "入院记录"
    assert section_rules.canonical_note_type(None) is None


def test_unknown_key_rejected(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("version: '1'\nnote_types: {}\nsections:\n  - {name: 主诉, headers: [主诉], effect: none, colour: red}\n",
                 encoding="utf-8")
    with pytest.raises(ValueError, match="unknown key"):
        load_section_rules(p)


def test_sentences_and_clauses(make_doc):
    text = "患者跌倒，右髋疼痛。予X线检查！\n无不适"
    assert [text[s:e] for s, e in sentence_ranges(text)] == ["患者跌倒，右髋疼痛。", "予X线检查！\n", "无不适"]
    assert [text[s:e] for s, e in clause_ranges(text, 0, 10)] == ["患者跌倒，", "右髋疼痛。"]
    doc = Sentencizer()(make_doc(text))
    assert [s.text for s in doc.sents] == ["患者跌倒，右髋疼痛。", "予X线检查！\n", "无不适"]
