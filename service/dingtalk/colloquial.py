"""Report-specific wording as data (data/dingtalk/colloquial.yaml): voice-input typos (压创, 外参, 跌到) and
colloquial phrasings per category written as rules over word classes ("[TUBE, {0,6}, PULL_OUT]" reads
把尿管和留置针都拔了). The rules run beside the NLP scanner; they do not replace it."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

KEYS = {"typos", "classes", "patterns"}
RULE_KEYS = {"rule", "match", "no_match", "weight"}
GAP_RE = re.compile(r"^\{(\d+),(\d+)\}$")
NUMBER_AHEAD = re.compile(r"\s*[0-9零〇一二两三四五六七八九十百]")
CLAUSE_CHAR = r"[^。；;！!？?\n]"


@dataclass(frozen=True)
class Rule:
    category: str
    source: tuple[str, ...]
    regex: re.Pattern
    weight: int
    match: tuple[str, ...]
    no_match: tuple[str, ...]


@dataclass(frozen=True)
class Colloquial:
    typos: dict[str, str]
    before_number_ok: frozenset[str]        # typos left alone before a value (血压跌到80)
    typo_re: re.Pattern
    rules: tuple[Rule, ...]

    def fix_typos(self, text: str) -> str:
        """Replace input typos by the word meant (those marked so: not before a value, 血压跌到80)."""
        def repl(m: re.Match) -> str:
            if m.group(0) in self.before_number_ok and NUMBER_AHEAD.match(text, m.end()):
                return m.group(0)
            return self.typos[m.group(0)]
        return self.typo_re.sub(repl, text) if self.typos else text

    def categories(self, text: str) -> list[tuple[str, int]]:
        """(category, score) for each category whose rules match the (typo-fixed) text, best first."""
        scores: dict[str, int] = {}
        first: dict[str, int] = {}
        for r in self.rules:
            m = r.regex.search(text)
            if m:
                scores[r.category] = scores.get(r.category, 0) + r.weight
                first[r.category] = min(first.get(r.category, m.start()), m.start())
        return sorted(scores.items(), key=lambda kv: (-kv[1], first[kv[0]]))


def _compile(path: Path, category: str, seq: list, classes: dict[str, list[str]]) -> re.Pattern:
    parts = []
    for item in seq:
        item = str(item)
        gap = GAP_RE.match(item)
        if gap:
            parts.append(f"{CLAUSE_CHAR}{{{gap.group(1)},{gap.group(2)}}}?")
        elif item.isupper() and item.replace("_", "").isalpha() and item.isascii():
            if item not in classes:
                raise ValueError(f"{path}: {category}: unknown class {item}")
            words = sorted(classes[item], key=len, reverse=True)
            parts.append("(?:" + "|".join(re.escape(w) for w in words) + ")")
        else:
            parts.append(re.escape(item))
    return re.compile("".join(parts))


def load_colloquial(path: Path, known_categories: set[str] | None = None) -> Colloquial:
    """Read and validate the file: unknown keys, classes or categories are errors."""
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    extra = set(raw) - KEYS
    if extra:
        raise ValueError(f"{path}: unknown keys {sorted(extra)}")
    typos, keep = {}, set()
    for k, v in (raw.get("typos") or {}).items():
        if isinstance(v, dict):
            if set(v) - {"word", "not_before_number"} or not v.get("word"):
                raise ValueError(f"{path}: typo {k!r}: only 'word' and 'not_before_number' are allowed")
            typos[str(k)] = str(v["word"])
            if v.get("not_before_number"):
                keep.add(str(k))
        else:
            typos[str(k)] = str(v)
    classes = {}
    for name, words in (raw.get("classes") or {}).items():
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise ValueError(f"{path}: class {name}: a list of non-empty strings is required")
        classes[str(name)] = words
    rules = []
    for category, items in (raw.get("patterns") or {}).items():
        if known_categories is not None and category not in known_categories:
            raise ValueError(f"{path}: category {category!r} is not in taxonomy.yaml")
        for spec in items or []:
            if not isinstance(spec, dict) or set(spec) - RULE_KEYS or "rule" not in spec:
                raise ValueError(f"{path}: {category}: each rule needs 'rule' (and may have {sorted(RULE_KEYS)})")
            rules.append(Rule(category=category, source=tuple(map(str, spec["rule"])),
                              regex=_compile(path, category, spec["rule"], classes),
                              weight=int(spec.get("weight", 3)), match=tuple(spec.get("match") or ()),
                              no_match=tuple(spec.get("no_match") or ())))
    alternation = "|".join(re.escape(t) for t in sorted(typos, key=len, reverse=True))
    return Colloquial(typos=typos, before_number_ok=frozenset(keep), typo_re=re.compile(alternation or r"(?!x)x"), rules=tuple(rules))


@lru_cache(maxsize=8)
def colloquial(data_dir: str) -> Colloquial:
    """The colloquial table of a data directory, loaded once."""
    from service.dingtalk.keywords import taxonomy_labels
    return load_colloquial(Path(data_dir) / "dingtalk" / "colloquial.yaml", set(taxonomy_labels(Path(data_dir))))
