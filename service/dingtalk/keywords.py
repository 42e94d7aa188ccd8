"""The keyword table for manual reports (data/dingtalk/report_keywords.yaml), validated on load."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

SEVERITIES = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class KeywordTable:
    categories: dict[str, tuple[str, tuple[str, ...]]]    # code → (default severity, keywords)
    severity_hints: dict[str, tuple[str, ...]]            # "I" | "II" | "IV" → words
    departments: tuple[str, ...]
    department_re: re.Pattern

    def match_categories(self, text: str) -> list[tuple[str, int, int]]:
        """(code, score, first position) for each category with a keyword in text, best first."""
        hits = []
        for code, (_, words) in self.categories.items():
            found = [(text.find(w), w) for w in words if w and w in text]
            if found:
                hits.append((code, sum(len(w) for _, w in found), min(p for p, _ in found)))
        return sorted(hits, key=lambda h: (-h[1], h[2]))

    def category(self, text: str) -> str | None:
        hits = self.match_categories(text)
        return hits[0][0] if hits else None

    def severity_hint(self, text: str) -> str | None:
        for level in ("I", "II", "IV"):
            if any(w in text for w in self.severity_hints.get(level, ())):
                return level
        return None

    def default_severity(self, category: str) -> str:
        return self.categories.get(category, ("III", ()))[0]


def _fail(path: Path, msg: str):
    raise ValueError(f"{path}: {msg}")


def load_keywords(path: Path, known_categories: set[str] | None = None) -> KeywordTable:
    """Read and validate the keyword table; unknown keys, categories or severities are errors."""
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    extra = set(raw) - {"categories", "severity_hints", "departments"}
    if extra:
        _fail(path, f"unknown keys {sorted(extra)}")
    cats: dict[str, tuple[str, tuple[str, ...]]] = {}
    for code, spec in (raw.get("categories") or {}).items():
        if known_categories is not None and code not in known_categories:
            _fail(path, f"category {code!r} is not in taxonomy.yaml")
        if not isinstance(spec, dict) or set(spec) - {"severity", "keywords"}:
            _fail(path, f"category {code!r}: only 'severity' and 'keywords' are allowed")
        sev = spec.get("severity", "III")
        if sev not in SEVERITIES:
            _fail(path, f"category {code!r}: severity {sev!r} is not one of {SEVERITIES}")
        words = spec.get("keywords") or []
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            _fail(path, f"category {code!r}: keywords must be a list of non-empty strings")
        cats[code] = (sev, tuple(words))
    hints = {}
    for level, words in (raw.get("severity_hints") or {}).items():
        if level not in ("I", "II", "IV"):
            _fail(path, f"severity_hints: level {level!r} must be I, II or IV")
        hints[level] = tuple(str(w) for w in words or [])
    deps = tuple(str(d) for d in raw.get("departments") or [])
    alternation = "|".join(re.escape(d) for d in sorted(deps, key=len, reverse=True)) or r"(?!x)x"
    return KeywordTable(categories=cats, severity_hints=hints, departments=deps,
                        department_re=re.compile(f"(?:{alternation})"))


def taxonomy_labels(data_dir: Path) -> dict[str, str]:
    """Event category code → Chinese label, from taxonomy.yaml."""
    with open(Path(data_dir) / "taxonomy.yaml", encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    return {code: (spec or {}).get("label", code) for code, spec in (raw.get("events") or {}).items()}


@lru_cache(maxsize=8)
def keyword_table(data_dir: str) -> KeywordTable:
    """The keyword table of a data directory, loaded once."""
    labels = taxonomy_labels(Path(data_dir))
    return load_keywords(Path(data_dir) / "dingtalk" / "report_keywords.yaml", set(labels))


@lru_cache(maxsize=8)
def category_labels(data_dir: str) -> dict[str, str]:
    return taxonomy_labels(Path(data_dir))
