"""The speed-ups must give exactly what the plain way gives: the lead-character scan of event triggers, the
remembered jieba blocks, the sentence bounds from the tokenizer's arrays, the anchored typo search."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from nlp.doc import doc_text, sentence_bounds
from nlp.events.rules import Pattern
from nlp.regex_scan import lead_class, lead_finditer
from nlp.normalize import normalize_text

TEST_DATA = Path(__file__).resolve().parents[1] / "data"

TRICKY = ["患者夜间跌倒，摔在地上", "烫伤，发烫红，滚烫", "摔于床旁地面，跪地上", "跌倒跌倒跌倒"]


def _texts() -> list[str]:
    out = list(TRICKY)
    with (TEST_DATA / "events_test.jsonl").open(encoding="utf-8") as f:
        out += [normalize_text(json.loads(line)["text"]) for line in f if line.strip()]
    return out


def test_triggers_find_what_finditer_finds(event_rules):
    texts = _texts()
    for rule in event_rules:
        for trig in rule.triggers:
            for t in texts:
                assert [m.span() for m in trig.finditer(t)] == [m.span() for m in trig.rx.finditer(t)], \
                    (rule.category, trig.id, t)


@pytest.mark.parametrize("pattern, lead", [
    (r"(?P<ev>跌倒|(摔|跌)(在|于)(?!床上))", "[摔跌]"),
    (r"(?<!发)烫(伤|红)", "[烫]"),
    (r"(坐|躺)*地上", "[坐地躺]"),            # an optional head: what follows can start the match too
    (r"(?<![a-z])[1-3]级", "[123]"),
])
def test_lead_class_of_a_pattern(pattern, lead):
    assert set(lead_class(re.compile(pattern)).pattern[1:-1]) == set(lead[1:-1])


@pytest.mark.parametrize("pattern", [r"(跌倒)?", r".跌倒", r"[^，]{0,4}跌倒", r"(?<!a)\d+次", r"(?<![a-z])\w+",
                                     r"跌倒|坠床", r"(?P<ev>[跌摔]倒)"])
def test_no_lead_class_where_any_character_may_start_or_re_is_fast_already(pattern):
    assert lead_class(re.compile(pattern)) is None


def test_lead_class_ignores_case_with_the_pattern():
    rx = re.compile(r"(?<![A-Za-z])(?:ALT|GPT)(?![A-Za-z])\s*[:：]?\s*\d", re.I)
    lead = lead_class(rx)
    text = "alt 35, ALT：40, Gpt 7, salt 3, ALT"
    assert [m.span() for m in lead_finditer(rx, lead, text)] == [m.span() for m in rx.finditer(text)]
    assert len(list(lead_finditer(rx, lead, text))) == 3


def test_pattern_scan_resumes_after_each_match():
    p = Pattern("x", re.compile("跌倒跌"), lead=lead_class(re.compile("跌倒跌")))
    text = "跌倒跌倒跌倒跌"
    assert [m.span() for m in p.finditer(text)] == [m.span() for m in p.rx.finditer(text)] == [(0, 3), (4, 7)]


def test_tokenizer_block_cache_cuts_as_jieba_does(scanner):
    tok = scanner.nlp.tokenizer
    tok.clear_cache()
    texts = _texts()[:200] + ["患者 于\r\n2020年 abc,def ３℃ 叒 x\t\ty", "", "\r\n\r\n跌倒"]
    for _ in range(2):                                  # cold, then from the cache
        for t in texts:
            cuts, pos = {0, len(t)}, 0
            for w in tok.jieba.cut(t, HMM=tok.hmm):
                pos += len(w)
                cuts.add(pos)
            assert tok.cut_points(t) == cuts, t
    assert tok._block_cuts.cache_info().hits > 0


def test_sentence_bounds_match_doc_sents(scanner):
    text = "主诉：头晕3天。\n现病史：患者于夜间如厕时跌倒！右髋疼痛；予X线检查\n无不适"
    doc = scanner.nlp(text)
    assert doc_text(doc) == doc.text == text
    sents = [(s.start_char, s.end_char) for s in doc.sents]
    for start in range(len(text)):
        for end in (start + 1, min(len(text), start + 9)):
            a = next(s for s, e in sents if s <= start < e)
            b = next(e for s, e in sents if s < end <= e)
            assert sentence_bounds(doc, start, end) == (a, b)
