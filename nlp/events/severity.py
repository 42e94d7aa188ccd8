"""Severity I–IV from the words around an event (T/CHAS 10-4-6-2018), cues as data (data/rules/severity.yaml)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nlp.events.rules import LEVELS, EventRule
from nlp.rulefiles import load_yaml, require_keys

_NEG_BEFORE = re.compile(r"(无|未|否认|排除|没有|未见|不伴|防止|预防|避免)[^,;。]{0,3}$")
ORDER = ("I", "IV", "II", "III")


@dataclass(frozen=True)
class SeverityRules:
    version: str
    cues: dict[str, tuple[re.Pattern, ...]]
    labels: dict[str, str]
    reasons: dict[str, str]

    def grade(self, window: str, rule: EventRule) -> tuple[str, bool]:
        """(level, from_text): the level from cues in ``window``, else the category default."""
        for level in ORDER:
            pats = rule.severity.get(level, ()) + self.cues.get(level, ())
            for rx in pats:
                for m in rx.finditer(window):
                    if level != "IV" and _NEG_BEFORE.search(window, 0, m.start()):
                        continue
                    return level, True
        return rule.default_severity, False


def load_severity_rules(path: str | Path) -> SeverityRules:
    d = load_yaml(path)
    require_keys(d, {"version", "labels", "reasons"}, set(LEVELS), path)
    cues = {lv: tuple(re.compile(p) for p in d.get(lv, [])) for lv in LEVELS}
    for k in ("labels", "reasons"):
        if set(d[k]) != set(LEVELS):
            raise ValueError(f"{path}: {k} must name exactly {LEVELS}")
    return SeverityRules(str(d["version"]), cues, dict(d["labels"]), dict(d["reasons"]))
