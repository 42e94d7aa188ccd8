"""Model entities merged into lexicon entities: the lexicon wins on its hits, a longer model entity that covers
lexicon hits whole replaces them (keeping their attributes), and the model adds what the lexicon lacks."""
from __future__ import annotations

from nlp.types import Entity


def _lexicon_doc(scanner, text):
    doc = scanner.nlp.make_doc(text)
    for name, proc in scanner.nlp.pipeline:
        if name in ("aew_normalize", "aew_sentences", "aew_lexicon"):
            doc = proc(doc)
    return doc


def _ents(doc):
    return {(s._.attrs["start"] if s._.attrs and "start" in s._.attrs else s.start_char,
             s._.attrs["end"] if s._.attrs and "end" in s._.attrs else s.end_char, s.label_, s._.source)
            for s in doc.spans["entities"]}


def test_longer_model_entity_replaces_the_lexicon_hits_it_covers(scanner):
    step = dict(scanner.nlp.pipeline)["aew_ner_model"]
    text = "予泰素帝120mg静滴，诉头痛。"                  # docetaxel; the lexicon knows only 泰素 (paclitaxel)
    doc = _lexicon_doc(scanner, text)
    assert (1, 3, "药物", "lexicon") in _ents(doc)
    step._merge(doc, [Entity(1, 4, "药物", "泰素帝", source="model")])
    merged = _ents(doc)
    assert (1, 4, "药物", "model") in merged and (1, 3, "药物", "lexicon") not in merged
    drug = next(x for x in doc.spans["entities"] if x._.source == "model")
    assert "generic" not in drug._.attrs                     # 泰素's generic (紫杉醇) is not docetaxel's


def test_lexicon_wins_where_the_model_cuts_across_its_hit(scanner):
    step = dict(scanner.nlp.pipeline)["aew_ner_model"]
    text = "予头孢曲松钠针2g静滴，诉头痛。"
    doc = _lexicon_doc(scanner, text)
    before = _ents(doc)
    assert (1, 6, "药物", "lexicon") in before
    step._merge(doc, [Entity(3, 8, "药物", text[3:8], source="model"),        # 曲松钠针2: cuts across the hit
                      Entity(1, 6, "疾病和诊断", text[1:6], source="model")])  # the same span, not longer
    assert _ents(doc) == before


def test_model_adds_what_the_lexicon_lacks(scanner):
    step = dict(scanner.nlp.pipeline)["aew_ner_model"]
    text = "患者行左侧乳腺癌改良根治术后。"
    doc = _lexicon_doc(scanner, text)
    before = _ents(doc)
    s, e = text.index("乳腺癌改良根治术"), text.index("后")
    if any(a < e and s < b for a, b, _, _ in before):
        s, e = 0, 2                                             # fall back to text no lexicon term touches
    step._merge(doc, [Entity(s, e, "手术", text[s:e], source="model")])
    assert _ents(doc) == before | {(s, e, "手术", "model")}
