"""Event rules as data: one YAML file per category in ``data/rules/events/``, validated on load."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nlp.regex_scan import lead_class, lead_finditer
from nlp.rulefiles import load_yaml, require_keys

LEVELS = ("I", "II", "III", "IV")
_FILE_REQ = {"category", "version", "description", "default_severity", "triggers"}
_FILE_OPT = {"exclude", "require", "severity", "check"}


@dataclass(frozen=True)
class Pattern:
    id: str
    rx: re.Pattern
    confidence: float = 0.85
    scope: str = "clause"          # exclude patterns: veto when they touch the clause, or anywhere in the sentence
    lead: re.Pattern | None = None  # the characters a match can start with, as one character class (None: any)

    def finditer(self, text: str):
        """``rx.finditer(text)``, tried only where one of the pattern's first characters stands (same matches)."""
        return lead_finditer(self.rx, self.lead, text)


@dataclass(frozen=True)
class EventRule:
    category: str
    version: int
    description: str
    default_severity: str
    triggers: tuple[Pattern, ...]
    exclude: tuple[Pattern, ...] = ()
    require: tuple[Pattern, ...] = ()
    severity: dict[str, tuple[re.Pattern, ...]] = field(default_factory=dict)
    check: str | None = None

    def rule_id(self, trigger_id: str) -> str:
        return f"event.{self.category}.{trigger_id}.v{self.version}"


def _patterns(items, where: str, *, with_conf: bool, with_scope: bool = False) -> tuple[Pattern, ...]:
    if not isinstance(items, list):
        raise ValueError(f"{where}: expected a list")
    out, seen = [], set()
    for i, it in enumerate(items):
        w = f"{where}[{i}]"
        require_keys(it, {"id", "pattern"}, ({"confidence"} if with_conf else set()) | ({"scope"} if with_scope else set()), w)
        scope = it.get("scope", "clause")
        if scope not in ("clause", "sentence"):
            raise ValueError(f"{w}: scope must be clause or sentence")
        if it["id"] in seen:
            raise ValueError(f"{w}: duplicate id {it['id']!r}")
        seen.add(it["id"])
        try:
            rx = re.compile(it["pattern"])
        except re.error as e:
            raise ValueError(f"{w}: bad pattern: {e}") from e
        conf = float(it.get("confidence", 0.85))
        if not 0 < conf <= 1:
            raise ValueError(f"{w}: confidence must be in (0, 1]")
        out.append(Pattern(str(it["id"]), rx, conf, scope, lead_class(rx) if with_conf else None))
    return tuple(out)


def load_event_rule(path: Path, known_categories: set[str] | None = None,
                    known_checks: set[str] | None = None) -> EventRule:
    d = load_yaml(path)
    require_keys(d, _FILE_REQ, _FILE_OPT, path)
    cat = d["category"]
    if known_categories is not None and cat not in known_categories:
        raise ValueError(f"{path}: category {cat!r} is not an event code of taxonomy.yaml")
    if d["default_severity"] not in LEVELS:
        raise ValueError(f"{path}: default_severity must be one of {LEVELS}")
    sev = {}
    for level, pats in (d.get("severity") or {}).items():
        if level not in LEVELS:
            raise ValueError(f"{path}: severity level {level!r} is not one of {LEVELS}")
        sev[level] = tuple(re.compile(p) for p in pats)
    check = d.get("check")
    if check is not None and known_checks is not None and check not in known_checks:
        raise ValueError(f"{path}: unknown check {check!r} (known: {sorted(known_checks)})")
    return EventRule(category=cat, version=int(d["version"]), description=str(d["description"]),
                     default_severity=d["default_severity"],
                     triggers=_patterns(d["triggers"], f"{path} triggers", with_conf=True),
                     exclude=_patterns(d.get("exclude") or [], f"{path} exclude", with_conf=False, with_scope=True),
                     require=_patterns(d.get("require") or [], f"{path} require", with_conf=False),
                     severity=sev, check=check)


def load_event_rules(folder: str | Path, taxonomy_path: str | Path | None = None,
                     known_checks: set[str] | None = None) -> tuple[EventRule, ...]:
    folder = Path(folder)
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise FileNotFoundError(f"no event rule files (*.yaml) in {folder}")
    known = None
    if taxonomy_path is not None:
        tax = load_yaml(taxonomy_path)
        known = set((tax.get("events") or {}).keys())
    rules = tuple(load_event_rule(p, known, known_checks) for p in files)
    cats = [r.category for r in rules]
    dup = {c for c in cats if cats.count(c) > 1}
    if dup:
        raise ValueError(f"{folder}: more than one file for {sorted(dup)}")
    return rules
