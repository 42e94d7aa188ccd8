import jieba
import pytest

from nlp.lexicon import Lexicon, LexiconMatcher


@pytest.fixture(scope="module")
def lexicon(data_dir):
    return Lexicon(data_dir / "lexicons")


def test_longest_match_on_normalised_text(lexicon, make_doc):
    doc = make_doc("遵醫囑予頭孢他啶2g靜滴，留置ＰＩＣＣ。")
    LexiconMatcher(lexicon)(doc)
    got = {(s.text, s.label_) for s in doc.spans["entities"]}
    assert ("頭孢他啶", "药物") in got          # traditional spelling in the original text
    assert ("ＰＩＣＣ", "器械管路") in got
    drug = next(s for s in doc.spans["entities"] if s.label_ == "药物")
    assert drug._.attrs["class"] == "头孢菌素类" and drug._.source == "lexicon"


def test_latin_terms_only_on_word_edges(lexicon):
    assert not [h for h in lexicon.match("ctpa") if h.term == "ct"]


def test_lexicon_header_required(tmp_path):
    (tmp_path / "x.tsv").write_text("阿司匹林\t药物\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header"):
        Lexicon(tmp_path)


def test_bad_type_rejected(tmp_path):
    (tmp_path / "x.tsv").write_text("# version: 1\n# source: t\n# licence: t\n阿司匹林\t药品\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown entity type"):
        Lexicon(tmp_path)


def test_tokens_are_slices_of_original(scanner):
    text = "患者ＰＩＣＣ導管脫出，予重新置管。"
    doc = scanner.nlp.make_doc(text)
    assert "".join(t.text for t in doc) == text
    assert doc._.norm == "患者picc导管脱出,予重新置管。"
    assert "PICC" not in [t.text for t in doc]       # tokens keep the original characters
    assert any(t.text == "ＰＩＣＣ" for t in doc)


def test_global_jieba_untouched(scanner):
    assert jieba.dt.FREQ.get("非计划拔管") is None
