"""Event rules as data: one YAML file per category in ``data/rules/events/``, validated on load."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from nlp.events.classes import ConceptClass, expand, load_classes
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
    description: str = ""           # what the pattern finds, in Chinese, for a quality manager
    match: tuple[str, ...] = ()     # example sentences the pattern must find (checked by the test suite)
    no_match: tuple[str, ...] = ()  # example sentences it must not find
    source: str = ""                # the pattern as written, with class names

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


def _pattern_text(pat, w: str) -> str:
    """A pattern is one string or a list of alternatives (one per line, to keep lines short)."""
    if isinstance(pat, str):
        return pat
    if isinstance(pat, list) and pat and all(isinstance(p, str) and p for p in pat):
        # each alternative may name its own (?P<ev>…); Python allows a group name once, so number them
        return "|".join(f"(?:{p.replace('(?P<ev>', f'(?P<ev_{i}>') if i else p})" for i, p in enumerate(pat))
    raise ValueError(f"{w}: pattern must be a string or a list of strings")


def _examples(it: dict, w: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    ex = it.get("examples") or {}
    require_keys(ex, set(), {"match", "no_match"}, f"{w} examples")
    out = []
    for key in ("match", "no_match"):
        v = ex.get(key) or []
        if not isinstance(v, list) or any(not isinstance(x, str) for x in v):
            raise ValueError(f"{w} examples.{key}: expected a list of sentences")
        out.append(tuple(v))
    return out[0], out[1]


def _patterns(items, where: str, *, with_conf: bool, with_scope: bool = False,
              classes: dict[str, ConceptClass] | None = None) -> tuple[Pattern, ...]:
    if not isinstance(items, list):
        raise ValueError(f"{where}: expected a list")
    out, seen = [], set()
    for i, it in enumerate(items):
        w = f"{where}[{i}]"
        require_keys(it, {"id", "pattern"}, ({"confidence"} if with_conf else set())
                     | ({"scope"} if with_scope else set()) | {"description", "examples"}, w)
        scope = it.get("scope", "clause")
        if scope not in ("clause", "sentence"):
            raise ValueError(f"{w}: scope must be clause or sentence")
        if it["id"] in seen:
            raise ValueError(f"{w}: duplicate id {it['id']!r}")
        seen.add(it["id"])
        src = _pattern_text(it["pattern"], w)
        try:
            rx = re.compile(expand(src, classes or {}, w))
        except re.error as e:
            raise ValueError(f"{w}: bad pattern: {e}") from e
        conf = float(it.get("confidence", 0.85))
        if not 0 < conf <= 1:
            raise ValueError(f"{w}: confidence must be in (0, 1]")
        match, no_match = _examples(it, w)
        out.append(Pattern(str(it["id"]), rx, conf, scope, lead_class(rx) if with_conf else None,
                           str(it.get("description") or ""), match, no_match, src))
    return tuple(out)


def load_event_rule(path: Path, known_categories: set[str] | None = None,
                    known_checks: set[str] | None = None,
                    classes: dict[str, ConceptClass] | None = None) -> EventRule:
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
        sev[level] = tuple(re.compile(expand(p, classes or {}, f"{path} severity")) for p in pats)
    check = d.get("check")
    if check is not None and known_checks is not None and check not in known_checks:
        raise ValueError(f"{path}: unknown check {check!r} (known: {sorted(known_checks)})")
    return EventRule(category=cat, version=int(d["version"]), description=str(d["description"]),
                     default_severity=d["default_severity"],
                     triggers=_patterns(d["triggers"], f"{path} triggers", with_conf=True, classes=classes),
                     exclude=_patterns(d.get("exclude") or [], f"{path} exclude", with_conf=False,
                                       with_scope=True, classes=classes),
                     require=_patterns(d.get("require") or [], f"{path} require", with_conf=False,
                                       classes=classes),
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
    classes = load_classes(folder.parent / "classes")
    rules = tuple(load_event_rule(p, known, known_checks, classes) for p in files)
    cats = [r.category for r in rules]
    dup = {c for c in cats if cats.count(c) > 1}
    if dup:
        raise ValueError(f"{folder}: more than one file for {sorted(dup)}")
    return rules
