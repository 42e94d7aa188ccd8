"""Concept classes for rules: named word lists (drugs, administration actions, omission markers, devices,
malfunction states …) that event rules refer to by name instead of spelling every word out.

A class file ``data/rules/classes/<name>.yaml`` holds::

    class: omission
    description: 遗漏标记（应做未做）
    source: 本项目整理
    terms: [漏, 遗漏, 未执行, 忘记, …]
    include: [other_class]                # optional: every term of these classes too
    lexicon: {file: drugs.tsv, types: [drug]}   # optional: terms of a lexicon file (term, type columns)

Adding a word to a class applies to every rule that names the class. In a rule pattern:

- ``{omission}`` stands for any term of the class (longest first, as a non-capturing group);
- ``{gap:N}`` for up to N characters inside one sentence, ``{cgap:N}`` for up to N inside one clause (no comma);
- everything else is a Python regular expression.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from nlp.lexicon import read_lexicon_rows
from nlp.normalize import normalize_text
from nlp.rulefiles import load_yaml, require_keys

_REF = re.compile(r"\{([a-z][a-z0-9_]*)(?::(\d{1,3}))?\}")
SENT_GAP = r"[^。；;！？!?\n]"
CLAUSE_GAP = r"[^。；;，,！？!?\n]"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RESERVED = {"gap", "cgap"}


@dataclass(frozen=True)
class ConceptClass:
    name: str
    description: str
    source: str
    terms: tuple[str, ...]

    def regex(self) -> str:
        return "(?:" + "|".join(re.escape(t) for t in sorted(self.terms, key=lambda t: (-len(t), t))) + ")"


def _lexicon_terms(lexicon_dir: Path, spec: dict, where: str) -> list[str]:
    require_keys(spec, {"file"}, {"types"}, where)
    path = lexicon_dir / spec["file"]
    if not path.is_file():
        raise FileNotFoundError(f"{where}: lexicon file not found: {path}")
    types = set(spec.get("types") or [])
    return [term for term, etype, _ in read_lexicon_rows(path) if not types or etype in types]


def load_classes(folder: str | Path, lexicon_dir: str | Path | None = None) -> dict[str, ConceptClass]:
    """All class files of ``folder``, includes resolved; an unknown include, a bad name or an empty class is an
    error naming the file."""
    folder = Path(folder)
    lexicon_dir = Path(lexicon_dir) if lexicon_dir else folder.parent.parent / "lexicons"
    raw: dict[str, dict] = {}
    if not folder.is_dir():
        return {}
    for path in sorted(folder.glob("*.yaml")):
        d = load_yaml(path)
        require_keys(d, {"class", "description", "source"}, {"terms", "include", "lexicon"}, path)
        name = d["class"]
        if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
            raise ValueError(f"{path}: class name must be lower_case ascii and not {sorted(RESERVED)}")
        if name != path.stem:
            raise ValueError(f"{path}: class {name!r} must live in {name}.yaml")
        terms = d.get("terms") or []
        if not isinstance(terms, list) or any(not isinstance(t, (str, int)) or not str(t).strip() for t in terms):
            raise ValueError(f"{path}: terms must be a list of non-empty words")
        terms = [str(t).strip() for t in terms]
        if d.get("lexicon"):
            terms += _lexicon_terms(lexicon_dir, d["lexicon"], f"{path} lexicon")
        raw[name] = {"d": d, "terms": terms, "path": path}
    resolved: dict[str, ConceptClass] = {}

    def resolve(name: str, stack: tuple[str, ...]) -> ConceptClass:
        if name in resolved:
            return resolved[name]
        if name in stack:
            raise ValueError(f"class include cycle: {' -> '.join(stack + (name,))}")
        r = raw[name]
        terms = list(r["terms"])
        for inc in r["d"].get("include") or []:
            if inc not in raw:
                raise ValueError(f"{r['path']}: include of unknown class {inc!r}")
            terms += resolve(inc, stack + (name,)).terms
        # terms are matched against normalised text (lower case, half width, simplified characters)
        uniq = tuple(dict.fromkeys(normalize_text(t) for t in terms if t))
        if not uniq:
            raise ValueError(f"{r['path']}: class {name!r} has no terms")
        resolved[name] = ConceptClass(name, str(r["d"]["description"]), str(r["d"]["source"]), uniq)
        return resolved[name]

    for name in raw:
        resolve(name, ())
    return resolved


def expand(pattern: str, classes: dict[str, ConceptClass], where: str = "pattern") -> str:
    """The regular expression of a rule pattern: class names and gaps replaced."""
    def sub(m: re.Match) -> str:
        name, n = m.group(1), m.group(2)
        if name in ("gap", "cgap"):
            if n is None:
                raise ValueError(f"{where}: {{{name}:N}} needs a length")
            return f"{SENT_GAP if name == 'gap' else CLAUSE_GAP}{{0,{int(n)}}}"
        if n is not None:
            raise ValueError(f"{where}: {{{name}:{n}}}: only gap and cgap take a length")
        if name not in classes:
            raise ValueError(f"{where}: unknown class {{{name}}} (known: {', '.join(sorted(classes))})")
        return classes[name].regex()
    return _REF.sub(sub, pattern)


def referenced(pattern: str) -> set[str]:
    return {m.group(1) for m in _REF.finditer(pattern)} - RESERVED
