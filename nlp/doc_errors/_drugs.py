"""Drug mentions (generic names, brand names, salt forms of data/knowledge/drug_doses.tsv and drug_classes.yaml)."""
from __future__ import annotations

import re


def drug_matcher(kb):
    """One regex over every written drug name, longest first; Latin names only at word boundaries."""
    rx = kb.cache.get("drug_rx")
    if rx is None:
        names = sorted(kb.drug_names, key=len, reverse=True)
        alts = [(r"(?<![A-Za-z0-9])" + re.escape(n) + r"(?![A-Za-z0-9])") if re.search(r"[A-Za-z]", n) else re.escape(n)
                for n in names if len(n) >= 2]
        rx = kb.cache["drug_rx"] = re.compile("|".join(alts), re.I)
    return rx


def mentions(text: str, kb):
    """(start, end, written name, generic name) for each drug mention."""
    lower = {k.lower(): v for k, v in kb.drug_names.items()}
    for m in drug_matcher(kb).finditer(text):
        yield m.start(), m.end(), m.group(), lower.get(m.group().lower(), m.group())
