"""Plain data types shared by the scanner, the service and the CLI (the scan contract)."""
from __future__ import annotations

from dataclasses import dataclass, field, asdict
from typing import Any


class InputError(ValueError):
    """A note that does not follow the scan contract's input format."""


@dataclass(frozen=True)
class PatientInfo:
    sex: str | None = None          # "男" | "女"
    age: float | None = None        # years; 0.5 = six months
    allergies: tuple[str, ...] = ()


@dataclass(frozen=True)
class NoteInput:
    """One note as in ../spec/scan-contract.md (only id and text are required)."""
    id: str
    text: str
    note_type: str | None = None
    patient_id: str | None = None
    encounter_id: str | None = None
    department: str | None = None
    time: str | None = None         # ISO 8601
    patient: PatientInfo = field(default_factory=PatientInfo)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "NoteInput":
        """Validate one input object of the scan contract; raise InputError with a clear message."""
        if not isinstance(d, dict):
            raise InputError("输入必须是 JSON 对象 / input must be a JSON object")
        nid, text = d.get("id"), d.get("text")
        if nid is None or (isinstance(nid, str) and not nid.strip()):
            raise InputError("缺少 id / missing field 'id'")
        if not isinstance(text, str):
            raise InputError("缺少 text 或 text 不是字符串 / field 'text' is missing or not a string")
        p = d.get("patient") or {}
        if not isinstance(p, dict):
            raise InputError("patient 必须是对象 / field 'patient' must be an object")
        sex = p.get("sex")
        if sex is not None and sex not in ("男", "女"):
            raise InputError("patient.sex 只能是 男 或 女 / patient.sex must be 男 or 女")
        age = p.get("age")
        if age is not None and (isinstance(age, bool) or not isinstance(age, (int, float)) or age < 0 or age > 150):
            raise InputError("patient.age 必须是 0–150 的数字 / patient.age must be a number of years (0–150)")
        allergies = p.get("allergies") or []
        if not isinstance(allergies, list) or not all(isinstance(a, str) for a in allergies):
            raise InputError("patient.allergies 必须是字符串列表 / patient.allergies must be a list of strings")
        for k in ("note_type", "patient_id", "encounter_id", "department", "time"):
            v = d.get(k)
            if v is not None and not isinstance(v, str):
                raise InputError(f"{k} 必须是字符串 / field '{k}' must be a string")
        return cls(id=str(nid), text=text, note_type=d.get("note_type"), patient_id=d.get("patient_id"),
                   encounter_id=d.get("encounter_id"), department=d.get("department"), time=d.get("time"),
                   patient=PatientInfo(sex=sex, age=age, allergies=tuple(allergies)))


@dataclass
class Finding:
    """One finding of the scan contract. Offsets index the ORIGINAL text; text[start:end] == evidence."""
    kind: str                       # "event" | "doc_error"
    category: str                   # a code of taxonomy.yaml
    severity: str                   # "I" .. "IV"
    start: int
    end: int
    evidence: str
    confidence: float
    rule: str                       # rule or model id with version, e.g. "event.fall.v1"
    explanation: str                # one Chinese sentence
    context: dict[str, Any] = field(default_factory=lambda: {
        "negated": False, "historical": False, "hypothetical": False, "experiencer": "patient"})
    section: str | None = None      # extra field (allowed: the contract only adds fields)
    entities: list[dict[str, Any]] | None = None   # extra: entities of the evidence sentence (drug, site, ...)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("section", "entities"):
            if d[k] is None:
                d.pop(k)
        return d


@dataclass
class Suppressed:
    """A candidate that context rules ruled out (listed by `aew scan --explain`)."""
    category: str
    start: int
    end: int
    evidence: str
    reason: str                     # e.g. "negated", "historical", "hypothetical", "risk_score", "experiencer"
    rule: str                       # the context rule id that decided it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    type: str                       # 疾病和诊断, 症状, 手术, 药物, 解剖部位, 影像检查, 实验室检验 (+ 器械管路 internal)
    text: str
    source: str = "lexicon"         # "lexicon" | "model"

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end, "type": self.type, "text": self.text}


@dataclass
class ScanResult:
    note_id: str
    findings: list[Finding] = field(default_factory=list)
    suppressed: list[Suppressed] = field(default_factory=list)

    def to_dict(self, explain: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {"note_id": self.note_id, "findings": [f.to_dict() for f in self.findings]}
        if explain:
            d["suppressed"] = [s.to_dict() for s in self.suppressed]
        return d
