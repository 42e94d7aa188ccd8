"""Knowledge tables of the documentation-error detectors (data/knowledge/), loaded and validated once.

Every table carries a version header, units and a source column or key. A bad table raises
``KnowledgeError`` naming the file and the line or key, so a quality manager who edits a table sees why.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"

MASS_UNITS = {"g": 1000.0, "mg": 1.0, "μg": 0.001, "ug": 0.001, "mcg": 0.001, "ng": 1e-6, "kg": 1e6}
UNIT_UNITS = {"U": 1.0, "IU": 1.0, "单位": 1.0, "万U": 1e4, "万IU": 1e4, "万单位": 1e4, "KU": 1e3, "MU": 1e6}
VOLUME_UNITS = {"ml": 1.0, "mL": 1.0, "毫升": 1.0, "L": 1000.0}
TABLE_UNITS = {"mg", "g", "μg", "U", "ml"}
ROUTES = {"po", "iv", "ivgtt", "im", "ih", "inh", "pr", "sl", "ext", "local", "ia"}


class KnowledgeError(ValueError):
    """A knowledge table that is missing or inconsistent (the message names the file)."""


@dataclass(frozen=True)
class DrugDose:
    drug: str
    aliases: tuple[str, ...]
    drug_class: str
    routes: tuple[str, ...]
    unit: str
    usual_min: float
    usual_max: float
    max_single: float
    max_daily: float
    paediatric: str
    source: str


@dataclass(frozen=True)
class Range:
    kind: str
    key: str
    label: str
    names: tuple[str, ...]
    unit: str
    alt_units: dict
    low: float
    high: float
    allow_zero: bool
    source: str


@dataclass
class Knowledge:
    data_dir: Path
    drugs: dict[str, DrugDose]                    # generic name -> dose row
    drug_names: dict[str, str]                    # every written name (generic, alias) -> generic
    classes: dict[str, dict]                      # allergy class -> {allergy_terms, members, cross}
    ranges: list[Range]
    sex: dict[str, dict]                          # "女"/"男" -> {terms, exclude}
    age_rules: list[dict]
    laterality: dict
    typo_terms: list[str] = field(default_factory=list)
    shape_pairs: set = field(default_factory=set)
    infusion_rates: dict[str, tuple[str, float]] = field(default_factory=dict)   # generic -> (unit, max)
    versions: dict[str, str] = field(default_factory=dict)
    cache: dict = field(default_factory=dict)      # compiled matchers, built lazily by the detectors

    def classes_of(self, generic: str) -> set[str]:
        return {c for c, v in self.classes.items() if generic in v["members"]}


def _version(path: Path, lines: list[str]) -> str:
    for ln in lines[:10]:
        m = re.match(r"#\s*version:\s*(\S+)", ln)
        if m:
            return m.group(1)
    raise KnowledgeError(f"{path.name}: 缺少版本头 '# version: X' / missing '# version:' header")


def _read_tsv(path: Path) -> tuple[str, list[dict]]:
    if not path.exists():
        raise KnowledgeError(f"{path}: 知识表不存在 / knowledge table missing")
    lines = path.read_text(encoding="utf-8").splitlines()
    version = _version(path, lines)
    rows = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.startswith("#")]
    header = rows[0][1].split("\t")
    out = []
    for lineno, ln in rows[1:]:
        cells = ln.split("\t")
        if len(cells) != len(header):
            raise KnowledgeError(f"{path.name}:{lineno}: 应有 {len(header)} 列，实际 {len(cells)} 列 / wrong column count")
        out.append({"_line": lineno, **dict(zip(header, cells))})
    return version, out


def _read_yaml(path: Path, allowed: set[str]) -> dict:
    if not path.exists():
        raise KnowledgeError(f"{path}: 知识表不存在 / knowledge table missing")
    text = path.read_text(encoding="utf-8")
    _version(path, text.splitlines())
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise KnowledgeError(f"{path.name}: YAML 格式错误 / invalid YAML: {e}") from e
    unknown = set(data) - allowed
    if unknown:
        raise KnowledgeError(f"{path.name}: 未知的键 / unknown keys: {sorted(unknown)}")
    for k in ("version", "source"):
        if not data.get(k):
            raise KnowledgeError(f"{path.name}: 缺少 {k} / missing '{k}'")
    return data


def _num(path: Path, row: dict, col: str) -> float:
    try:
        return float(row[col])
    except (KeyError, ValueError):
        raise KnowledgeError(f"{path.name}:{row['_line']}: 列 {col} 不是数字 / column '{col}' is not a number") from None


def _load_drugs(path: Path) -> tuple[str, dict[str, DrugDose], dict[str, str]]:
    version, rows = _read_tsv(path)
    drugs: dict[str, DrugDose] = {}
    names: dict[str, str] = {}
    for r in rows:
        where = f"{path.name}:{r['_line']}"
        unit, routes = r["unit"], tuple(x for x in r["routes"].split("|") if x)
        if unit not in TABLE_UNITS:
            raise KnowledgeError(f"{where}: 未知单位 / unknown unit {unit!r}")
        if set(routes) - ROUTES:
            raise KnowledgeError(f"{where}: 未知给药途径 / unknown route {sorted(set(routes) - ROUTES)}")
        nums = [_num(path, r, c) for c in ("usual_min", "usual_max", "max_single", "max_daily")]
        umin, umax, msingle, mdaily = nums
        if not (0 < umin <= umax <= msingle <= mdaily):
            raise KnowledgeError(f"{where}: 需满足 0 < 常用最小量 ≤ 常用最大量 ≤ 单次最大量 ≤ 每日最大量 / "
                                 f"doses must satisfy 0 < usual_min ≤ usual_max ≤ max_single ≤ max_daily")
        if not r["source"].strip():
            raise KnowledgeError(f"{where}: 缺少来源 / missing source")
        d = DrugDose(r["drug"], tuple(a for a in r["aliases"].split("|") if a), r["class"], routes, unit,
                     umin, umax, msingle, mdaily, r["paediatric"], r["source"])
        if d.drug in drugs:
            raise KnowledgeError(f"{where}: 药物重复 / duplicate drug {d.drug}")
        drugs[d.drug] = d
        for n in (d.drug, *d.aliases):
            if n in names and names[n] != d.drug:
                raise KnowledgeError(f"{where}: 别名 {n} 已属于 {names[n]} / alias already used")
            names[n] = d.drug
    return version, drugs, names


def _load_ranges(path: Path) -> tuple[str, list[Range]]:
    version, rows = _read_tsv(path)
    out = []
    for r in rows:
        where = f"{path.name}:{r['_line']}"
        if r["kind"] not in ("vital", "lab"):
            raise KnowledgeError(f"{where}: kind 只能是 vital 或 lab / kind must be vital or lab")
        alt = {}
        for part in filter(None, r["alt_units"].split(";")):
            u, _, f = part.partition("=")
            try:
                alt[u] = float(f)
            except ValueError:
                raise KnowledgeError(f"{where}: alt_units 格式应为 单位=乘数 / alt_units must be unit=factor") from None
        low, high = _num(path, r, "min"), _num(path, r, "max")
        if not low <= high:
            raise KnowledgeError(f"{where}: min 大于 max / min > max")
        if r["allow_zero"] not in ("yes", "no"):
            raise KnowledgeError(f"{where}: allow_zero 只能是 yes/no")
        if not r["unit"] or not r["source"]:
            raise KnowledgeError(f"{where}: 缺少单位或来源 / missing unit or source")
        out.append(Range(r["kind"], r["key"], r["label"], tuple(r["names"].split("|")), r["unit"], alt,
                         low, high, r["allow_zero"] == "yes", r["source"]))
    return version, out


def _load_classes(path: Path, drugs: dict[str, DrugDose]) -> tuple[str, dict]:
    data = _read_yaml(path, {"version", "source", "classes"})
    classes = {}
    for name, spec in (data.get("classes") or {}).items():
        unknown = set(spec) - {"allergy_terms", "extra_members", "cross"}
        if unknown:
            raise KnowledgeError(f"{path.name}: 类别 {name} 有未知的键 / unknown keys {sorted(unknown)}")
        members = {d.drug for d in drugs.values() if d.drug_class == name} | set(spec.get("extra_members") or [])
        cross = []
        for c in spec.get("cross") or []:
            if set(c) - {"class", "confidence"} or not 0 < float(c.get("confidence", 0)) <= 1:
                raise KnowledgeError(f"{path.name}: 类别 {name} 的 cross 项格式错误 / bad cross entry {c}")
            cross.append((c["class"], float(c["confidence"])))
        classes[name] = {"allergy_terms": list(spec.get("allergy_terms") or []), "members": members, "cross": cross}
    for name, spec in classes.items():
        for c, _ in spec["cross"]:
            if c not in classes:
                raise KnowledgeError(f"{path.name}: 类别 {name} 交叉到未知类别 / cross to unknown class {c}")
    return str(data["version"]), classes


def _load_typo(dir_: Path) -> tuple[str, list[str], set]:
    p = dir_ / "typo_terms.txt"
    if not p.exists():
        raise KnowledgeError(f"{p}: 知识表不存在 / knowledge table missing")
    lines = p.read_text(encoding="utf-8").splitlines()
    version = _version(p, lines)
    terms = []
    for ln in lines:
        ln = ln.split("#", 1)[0].strip()
        terms.extend(w for w in re.split(r"[\s,，、]+", ln) if w)
    q = dir_ / "shape_confusion.tsv"
    qlines = q.read_text(encoding="utf-8").splitlines() if q.exists() else []
    if q.exists():
        _version(q, qlines)
    pairs = set()
    for i, ln in enumerate(qlines, 1):
        if not ln.strip() or ln.startswith("#"):
            continue
        chars = ln.split("\t")[0].split()
        if len(chars) < 2 or any(len(c) != 1 for c in chars):
            raise KnowledgeError(f"{q.name}:{i}: 每行应为空格分隔的单个汉字 / one group of single characters per line")
        for a in chars:
            for b in chars:
                if a != b:
                    pairs.add((a, b))
    return version, terms, pairs


_RATE_UNITS = {"μg/kg/min", "μg/kg/h", "mg/kg/min", "mg/kg/h", "U/kg/min", "U/kg/h"}


def _load_rates(path: Path, drugs: dict[str, DrugDose]) -> tuple[str, dict[str, tuple[str, float]]]:
    """Maximum weight-based pump rates: drug (a generic of drug_doses.tsv), unit, max, source."""
    version, rows = _read_tsv(path)
    out = {}
    for row in rows:
        drug, unit = row.get("drug", ""), row.get("unit", "")
        if drug not in drugs:
            raise KnowledgeError(f"{path.name}:{row['_line']}: {drug!r} 不在 drug_doses.tsv / not a known generic")
        if unit not in _RATE_UNITS:
            raise KnowledgeError(f"{path.name}:{row['_line']}: 速率单位 {unit!r} 无效 / unit must be one of "
                                 f"{sorted(_RATE_UNITS)}")
        out[drug] = (unit, _num(path, row, "max"))
    return version, out


@functools.lru_cache(maxsize=4)
def _load(data_dir: str) -> Knowledge:
    kdir = Path(data_dir) / "knowledge"
    dv, drugs, names = _load_drugs(kdir / "drug_doses.tsv")
    cv, classes = _load_classes(kdir / "drug_classes.yaml", drugs)
    for spec in classes.values():
        for m in spec["members"]:
            names.setdefault(m, m)
    # the detectors read the normalised text (nlp/normalize.py: traditional → simplified, full → half width):
    # 磺胺甲噁唑 is read as 磺胺甲恶唑, so every written name is also known in its normalised spelling
    from nlp.normalize import normalize_text
    for n, generic in list(names.items()):
        names.setdefault(normalize_text(n), generic)
    for spec in classes.values():
        spec["allergy_terms"] = list(dict.fromkeys(
            [*spec["allergy_terms"], *(normalize_text(t) for t in spec["allergy_terms"])]))
    rv, ranges = _load_ranges(kdir / "plausible_ranges.tsv")
    sex = _read_yaml(kdir / "sex_specific.yaml", {"version", "source", "female", "male"})
    for k in ("female", "male"):
        if set(sex.get(k) or {}) - {"terms", "exclude"} or not sex.get(k, {}).get("terms"):
            raise KnowledgeError(f"sex_specific.yaml: {k} 应只含 terms/exclude 且 terms 非空")
    age = _read_yaml(kdir / "age_specific.yaml", {"version", "source", "rules"})
    for i, rule in enumerate(age.get("rules") or []):
        unknown = set(rule) - {"terms", "min_age", "max_age", "contraindicated_below", "kind", "reason", "exclude",
                                 "skip_if_text"}
        if unknown or not rule.get("terms") or rule.get("kind") not in ("diagnosis", "drug") or not rule.get("reason"):
            raise KnowledgeError(f"age_specific.yaml: 第 {i + 1} 条规则格式错误 / rule {i + 1} invalid ({sorted(unknown)})")
        if not any(k in rule for k in ("min_age", "max_age", "contraindicated_below")):
            raise KnowledgeError(f"age_specific.yaml: 第 {i + 1} 条规则缺少年龄界限 / rule {i + 1} has no age bound")
    lat = _read_yaml(kdir / "laterality.yaml", {"version", "source", "structures", "procedure_words"})
    tv, terms, pairs = _load_typo(kdir)
    iv, rates = _load_rates(kdir / "infusion_rates.tsv", drugs)
    return Knowledge(
        data_dir=Path(data_dir), drugs=drugs, drug_names=names, classes=classes, ranges=ranges,
        sex={"女": sex["female"], "男": sex["male"]}, age_rules=list(age["rules"]), laterality=lat,
        typo_terms=terms, shape_pairs=pairs, infusion_rates=rates,
        versions={"infusion_rates": iv, "drug_doses": dv, "drug_classes": cv, "plausible_ranges": rv, "sex_specific": str(sex["version"]),
                  "age_specific": str(age["version"]), "laterality": str(lat["version"]), "typo_terms": tv})


def load_knowledge(data_dir=None) -> Knowledge:
    """Load and validate every table of <data_dir>/knowledge once (cached per data_dir)."""
    return _load(str(Path(data_dir) if data_dir else DEFAULT_DATA_DIR))
