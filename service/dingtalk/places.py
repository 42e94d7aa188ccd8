"""Where a report happened: the ward/department dictionary of data/dingtalk/departments.yaml (standard names and
the aliases staff type: 心内 → 心血管内科, 血透室 → 血液净化中心) and the rules that tell the patient's ward from a
department that merely phoned, was consulted or was told (检验科来电, 请骨科会诊, 通知设备科)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

KEYS = {"departments", "ward_prefixes", "not_a_place", "not_place_after", "not_place_before"}
CN_DIGITS = "零〇一二两三四五六七八九十"
WARD_SUFFIX_RE = re.compile(rf"[{CN_DIGITS}\d]{{1,3}}\s*(?:病区|区)")
# a bed right after a ward name: "心内12床", "老年病科 三十床", "产科15号", "老年病科加3", "ICU 床号：7"
BED_AFTER_RE = re.compile(rf"\s*(?:的)?\s*(?:床号\s*[:：]?\s*)?(?:加\s*)?[{CN_DIGITS}\d]{{1,4}}(?:\s*号)?\s*床"
                          rf"|\s*(?:床号\s*[:：]?\s*)(?:加\s*)?[{CN_DIGITS}\d]{{1,4}}"
                          rf"|\s*加\s*[{CN_DIGITS}\d]{{1,3}}(?![{CN_DIGITS}\d])"
                          rf"|\s*\d{{1,3}}\s*号(?![机楼线房室箱台车位码])")


@dataclass(frozen=True)
class PlaceMatch:
    written: str            # as written, with its ward number: 呼吸科二病区
    department: str         # the standard name: 呼吸内科
    start: int
    end: int
    bed_follows: bool       # a bed number follows directly ("心内12床")


@dataclass(frozen=True)
class PlaceTable:
    names: dict[str, str]               # alias or standard name → standard name
    ward_prefixes: dict[str, str]       # short name → standard name, only before a ward or bed number
    not_a_place: frozenset[str]         # standard names that are callers/consultants, never the ward
    not_after: tuple[str, ...]
    not_before: tuple[str, ...]
    pattern: re.Pattern

    def canonical(self, name: str | None) -> str | None:
        """The standard department of a ward or department as written (骨科二病区 → 骨科), or None."""
        if not name:
            return None
        name = name.strip()
        base = WARD_SUFFIX_RE.sub("", name).strip() or name
        for cand in (name, base):
            if cand in self.names:
                return self.names[cand]
            if cand in self.ward_prefixes:
                return self.ward_prefixes[cand]
        m = self.pattern.match(name)
        if m:
            return self.names.get(m.group(0)) or self.ward_prefixes.get(m.group(0))
        return None

    def find_all(self, text: str, extra: dict[str, str] | None = None) -> list[PlaceMatch]:
        """Every ward or department named in text that is the place of the event (not a caller or consultant)."""
        out: list[PlaceMatch] = []
        spans = [(m.start(), m.group(0)) for m in self.pattern.finditer(text)]
        for name, std in (extra or {}).items():
            for m in re.finditer(re.escape(name), text):
                if not any(s <= m.start() < s + len(w) for s, w in spans):
                    spans.append((m.start(), name))
        for start, name in sorted(spans):
            std = (extra or {}).get(name) or self.names.get(name) or self.ward_prefixes.get(name)
            end = start + len(name)
            suffix = WARD_SUFFIX_RE.match(text, end)
            ward_end = suffix.end() if suffix else end
            bed = BED_AFTER_RE.match(text, ward_end)
            if name in self.ward_prefixes and name not in self.names and not (suffix or bed):
                continue                  # 没呼吸了, 康复出院: not a ward
            if std in self.not_a_place and not bed:
                continue
            if self._referred(text, start, end) and not bed:
                continue
            out.append(PlaceMatch(written=text[start:ward_end].replace(" ", ""), department=std, start=start,
                                  end=ward_end, bed_follows=bool(bed)))
        return out

    def find(self, text: str, extra: dict[str, str] | None = None) -> PlaceMatch | None:
        """The patient's ward: the first one with a bed right after it, else the first one named."""
        found = self.find_all(text, extra)
        with_bed = [p for p in found if p.bed_follows]
        return (with_bed or found or [None])[0]

    def _referred(self, text: str, start: int, end: int) -> bool:
        before = re.sub(r"(?:已经|已|了|再|又|马上|立即|\s)+$", "", text[max(0, start - 6):start])
        if before.endswith(self.not_before):
            return True
        after = re.sub(r"^(?:\s|的|医生|大夫|值班|人员|老师|同事|护士)+", "", text[end:end + 10])
        after = re.sub(r"^(?:上午|下午|晚上|凌晨|早上|中午|夜里|刚才|今天|昨天)?[^，。,；;\s]{0,6}?(?=打的电话|打电话|来电)",
                       "", after)
        return after.startswith(self.not_after)


def load_places(path: Path) -> PlaceTable:
    """Read and validate the department dictionary; unknown keys and malformed entries are errors."""
    with open(path, encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    extra = set(raw) - KEYS
    if extra:
        raise ValueError(f"{path}: unknown keys {sorted(extra)}")
    names: dict[str, str] = {}
    for std, aliases in (raw.get("departments") or {}).items():
        if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
            raise ValueError(f"{path}: department {std!r}: aliases must be a list of non-empty strings")
        for a in (std, *aliases):
            if a in names and names[a] != std:
                raise ValueError(f"{path}: {a!r} is an alias of both {names[a]!r} and {std!r}")
            names[a] = str(std)
    prefixes = {str(k): str(v) for k, v in (raw.get("ward_prefixes") or {}).items()}
    for k, v in prefixes.items():
        if v not in names:
            raise ValueError(f"{path}: ward_prefixes: {k!r} → {v!r} is not a standard department")
    not_place = frozenset(str(d) for d in raw.get("not_a_place") or [])
    unknown = not_place - set(names.values())
    if unknown:
        raise ValueError(f"{path}: not_a_place: {sorted(unknown)} are not departments")
    words = sorted(set(names) | set(prefixes), key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(w) for w in words) or r"(?!x)x")
    return PlaceTable(names=names, ward_prefixes=prefixes, not_a_place=not_place,
                      not_after=tuple(str(w) for w in raw.get("not_place_after") or []),
                      not_before=tuple(str(w) for w in raw.get("not_place_before") or []), pattern=pattern)


@lru_cache(maxsize=8)
def place_table(data_dir: str) -> PlaceTable:
    """The department dictionary of a data directory, loaded once."""
    return load_places(Path(data_dir) / "dingtalk" / "departments.yaml")
