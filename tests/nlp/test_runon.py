"""Run-on notes (no 。) are cut into bounded windows; ordinary sentences and clause bounds are unchanged.
(Timing lives in `make bench` — bench/bench_runon.py — not in a timed test.)"""
import random

from nlp.doc_errors._common import CLAUSE_END, MAX_CLAUSE_REACH, clause_bounds
from nlp.sentences import MAX_SENTENCE_CHARS, sentence_ranges


def _clause_bounds_by_walking(text, pos, stops=CLAUSE_END):
    s = pos
    while s > 0 and text[s - 1] not in stops:
        s -= 1
    e = pos
    while e < len(text) and text[e] not in stops:
        e += 1
    return s, e


def test_ordinary_sentences_are_left_whole():
    text = "患者夜间如厕时不慎跌倒，左额部擦伤。予清创包扎；告知家属！复查头颅CT？无异常\n次日出院"
    assert [text[a:b] for a, b in sentence_ranges(text)] == [
        "患者夜间如厕时不慎跌倒，左额部擦伤。", "予清创包扎；", "告知家属！", "复查头颅CT？", "无异常\n", "次日出院"]


def test_run_on_text_is_cut_into_bounded_windows_after_commas():
    piece = "左下肢疼痛，右侧髋部压痛，予头孢他啶2g静滴，"
    text = piece * 2000
    ranges = sentence_ranges(text)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(text)
    assert all(b == c for (_, b), (c, _) in zip(ranges, ranges[1:]))          # contiguous, nothing lost
    assert all(0 < b - a <= MAX_SENTENCE_CHARS for a, b in ranges)
    assert all(text[b - 1] == "，" for a, b in ranges[:-1])                      # cut after a comma
    no_commas = "跌" * 5000
    assert all(b - a <= MAX_SENTENCE_CHARS for a, b in sentence_ranges(no_commas))


def test_clause_bounds_match_the_walk_on_ordinary_text_and_are_bounded_on_run_on_text():
    rng = random.Random(7)
    for _ in range(3000):
        t = "".join(rng.choice("左右侧。，\n；") for _ in range(rng.randint(0, 60)))
        p = rng.randint(0, len(t))
        for stops in (CLAUSE_END, CLAUSE_END + "，,"):
            assert clause_bounds(t, p, stops) == _clause_bounds_by_walking(t, p, stops)
    long = "跌" * 50_000
    s, e = clause_bounds(long, 25_000)
    assert (s, e) == (25_000 - MAX_CLAUSE_REACH, 25_000 + MAX_CLAUSE_REACH)


def test_run_on_note_scans_with_the_same_findings_as_its_first_window(scanner):
    from nlp.types import NoteInput
    piece = "夜间患者自行下床如厕时不慎跌倒，左侧额部擦伤，告知跌倒风险，"
    result = scanner.scan(NoteInput(id="runon", text=piece * 400), ())    # ~12,000 characters, no 。
    assert any(f.category == "fall" for f in result.findings)
