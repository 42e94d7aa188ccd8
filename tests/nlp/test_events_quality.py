"""The event detectors on our own labelled test set (tests/data/events_test.jsonl, written by the team,
kept apart from the classifier's training sentences): per-category figures with floors."""
from nlp.events.evaluate import prf, read_cases, report, score

from pathlib import Path

TEST_DATA = Path(__file__).resolve().parents[1] / "data"

FLOOR_MICRO_F1 = 0.95
FLOOR_CATEGORY_F1 = 0.85


def test_events_test_set(scanner):
    cases = read_cases(TEST_DATA / "events_test.jsonl")
    positives = [c for c in cases if c["gold"]]
    negatives = [c for c in cases if not c["gold"]]
    assert len(cases) >= 300 and len(negatives) >= len(positives)
    per, errors = score(scanner, cases)
    print("\n" + report(per))
    assert len(per) == 18
    tot = [sum(v[i] for v in per.values()) for i in range(3)]
    assert prf(*tot)[2] >= FLOOR_MICRO_F1, errors
    low = {c: round(prf(*v)[2], 2) for c, v in per.items() if prf(*v)[2] < FLOOR_CATEGORY_F1}
    assert not low, (low, errors)
