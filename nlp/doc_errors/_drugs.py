"""Drug mentions (generic names, brand names, salt forms of data/knowledge/drug_doses.tsv and drug_classes.yaml),
found with one Aho-Corasick automaton, leftmost-longest, Latin names only at word boundaries."""
from __future__ import annotations

import re

import ahocorasick

_LATIN = re.compile(r"[A-Za-z0-9]")


def _automaton(kb):
    auto = kb.cache.get("drug_automaton")
    if auto is None:
        auto = ahocorasick.Automaton()
        for name, generic in kb.drug_names.items():
            if len(name) >= 2:
                auto.add_word(name.lower(), (len(name), generic, bool(re.search(r"[A-Za-z]", name))))
        auto.make_automaton()
        kb.cache["drug_automaton"] = auto
    return auto


def mentions(text: str, kb):
    """(start, end, written name, generic name) for each drug mention, left to right, not overlapping."""
    hits = []
    low = text.lower()
    for end, (n, generic, latin) in _automaton(kb).iter(low):
        s, e = end - n + 1, end + 1
        if latin and ((s > 0 and _LATIN.match(text[s - 1])) or (e < len(text) and _LATIN.match(text[e]))):
            continue
        hits.append((s, e, generic))
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    last = -1
    for s, e, generic in hits:
        if s >= last:
            last = e
            yield s, e, text[s:e], generic
