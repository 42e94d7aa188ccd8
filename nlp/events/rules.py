"""Event rules as data: one YAML file per category in ``data/rules/events/``, validated on load."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

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
        """``rx.finditer(text)``, trying the pattern only where one of its first characters stands.

        Python's ``re`` scans fast for a leading literal, but a pattern that starts with a group of alternatives
        (``(?P<ev>(摔|跌)(在|于)|跌倒|…)``) is tried at every character. The same matches, in the same order: a
        match can only start at a lead character, and the scan resumes where the last match ended."""
        if self.lead is None:
            yield from self.rx.finditer(text)
            return
        match, pos = self.rx.match, 0
        for c in self.lead.finditer(text):
            at = c.start()
            if at < pos:
                continue
            m = match(text, at)
            if m is not None and m.end() > at:
                yield m
                pos = m.end()


def lead_class(rx: re.Pattern) -> re.Pattern | None:
    """A character class of the characters a non-empty match of ``rx`` can start with; None when that is not
    a small known set (a leading ``.``, a negated class, an optional pattern, flags)."""
    try:
        from re import _constants as C, _parser as P
    except ImportError:                     # the parser's module moved: fall back to plain scanning
        return None
    if rx.flags & (re.IGNORECASE | re.VERBOSE):
        return None

    def first(seq) -> tuple[set[str], bool] | None:
        """(first characters, nullable) of a sequence of parsed items."""
        out: set[str] = set()
        for op, av in seq:
            if op is C.LITERAL:
                out.add(chr(av))
                return out, False
            if op is C.IN:
                chars = set()
                for kind, val in av:
                    if kind is C.LITERAL:
                        chars.add(chr(val))
                    elif kind is C.RANGE and val[1] - val[0] <= 256:
                        chars.update(chr(x) for x in range(val[0], val[1] + 1))
                    else:
                        return None
                out |= chars
                return out, False
            if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
                continue                     # zero width: the next item decides
            if op is C.SUBPATTERN:
                r = first(av[3])
            elif op is C.BRANCH:
                r, nullable = set(), False
                for alt in av[1]:
                    b = first(alt)
                    if b is None:
                        return None
                    r |= b[0]
                    nullable = nullable or b[1]
                r = (r, nullable)
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
                b = first(av[2])
                r = None if b is None else (b[0], b[1] or av[0] == 0)
            else:
                return None
            if r is None:
                return None
            out |= r[0]
            if not r[1]:
                return out, False
        return out, True

    try:
        res = first(P.parse(rx.pattern))
    except Exception:                       # an unusual construct: plain scanning is always right
        return None
    if res is None or res[1] or not res[0]:
        return None
    return re.compile("[" + "".join(re.escape(c) for c in sorted(res[0])) + "]")


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
