"""Read a free-text report ("3床王某某今晨如厕时跌倒，左腕擦伤，已处理") into structured facts:
category and severity (report wording as data and the NLP scanner), bed, ward, time, patient, actions."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from service.dingtalk.colloquial import Colloquial, colloquial
from service.dingtalk.keywords import KeywordTable
from service.dingtalk.places import WARD_SUFFIX_RE, PlaceTable, place_table
from service.dingtalk.when import cn_number, extract_time

__all__ = ["ParsedReport", "extract_bed", "extract_ward", "extract_time", "extract_patient", "parse_report",
           "rank_categories", "strip_anonymous"]

REQUIRED = ("category", "location", "occurred_at")       # asked in this order, one question at a time

CN_NUM = "一二三四五六七八九十"
BED_TEMPLATE_RE = re.compile(rf"床\s*号\s*[:：]?\s*(加|\+|＋)?\s*(\d{{1,3}}|[{CN_NUM}]{{1,3}})")
WARD_BED_RE = re.compile(rf"\s*(?:的)?\s*(加|\+|＋)?\s*(\d{{1,3}}|[{CN_NUM}]{{1,3}})"
                         rf"(?:\s*号?\s*床|\s*号(?![机楼线房室箱台车位码\d])|(?=[\s，,。；;]|$))")
BED_RE = re.compile(rf"(?<![\d.{CN_NUM}第])(加|\+|＋)?\s*(\d{{1,3}}|[{CN_NUM}]{{1,3}})\s*号?\s*床(?!旁|头|尾|边|单|栏|档|垫|上|下|位)")
SURNAMES = set("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
               "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
               "向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童"
               "凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项"
               "连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛"
               "仲虞敖巩明佘池查麻苑迟邝")
NAME_BREAK = set("今昨前凌早晨上下中晚夜于在因突自入术住发出患家护医今昨刚病已被行时的床，,。；; ")
PATIENT_CUE_RE = re.compile(r"(?:患者|病人|病员|患儿|产妇|老人|床)\s*(?=([\u4e00-\u9fa5]{2,4}))")
NOT_NAMES = {"高热", "高烧", "高龄", "高危", "高血", "黄疸", "常规", "安静", "安全", "明显", "方可", "全身", "全麻",
             "平稳", "平卧", "白天", "夏季", "左侧", "左手", "左腕", "左下", "左上", "右侧", "右手", "右腕", "右下",
             "右上", "双侧", "双下", "单人", "于是", "和家", "向家", "连续", "钱包", "包括", "时间", "任何"}
PSEUDONYM_RE = re.compile(r"([\u4e00-\u9fa5])(某某|某|XX|xx|××|\*\*?)")
ACTION_WORDS = ("已", "立即", "予以", "予", "给予", "通知", "报告", "重新", "停止", "停药", "拔针", "更换", "急查",
                "复查", "会诊", "处理", "松解", "抢救", "送检", "上报", "寻回", "观察", "心肺复苏")
ANON_RE = re.compile(r"[（(【\[]?\s*匿名(?:上报|报告)?\s*[）)】\]]?[:：，,\s]*")


@dataclass
class ParsedReport:
    """What one message (or a draft plus its follow-ups) says about an incident."""
    text: str = ""
    category: str | None = None
    category_source: str | None = None          # nlp | keywords | form
    severity: str | None = None
    severity_source: str | None = None          # hint | nlp | default | form
    bed: str | None = None
    ward: str | None = None                     # as written: 骨科二病区
    department: str | None = None               # the department part: 骨科
    occurred_at: datetime | None = None         # UTC
    time_text: str | None = None
    time_approx: bool = False
    patient: str | None = None                  # as written (never echoed unmasked)
    actions: str | None = None
    anonymous: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def missing(self, *, reporter_department: str | None = None) -> list[str]:
        lacking = {"category": not self.category, "occurred_at": self.occurred_at is None,
                   "location": not (self.bed or self.ward or self.department or reporter_department)}
        return [name for name in REQUIRED if lacking[name]]

    def fill_from(self, other: "ParsedReport") -> list[str]:
        """Take from a follow-up what this report lacks; returns the names of the fields filled."""
        filled = []
        for name in ("category", "bed", "ward", "department", "occurred_at", "patient", "actions"):
            if getattr(self, name) in (None, "") and getattr(other, name) not in (None, ""):
                setattr(self, name, getattr(other, name))
                filled.append(name)
        if "category" in filled:
            self.category_source = other.category_source
            if self.severity_source in (None, "default") or other.severity_source == "hint":
                self.severity, self.severity_source = other.severity, other.severity_source
        elif other.severity_source == "hint" and self.severity_source != "hint":
            self.severity, self.severity_source = other.severity, "hint"
        if "occurred_at" in filled:
            self.time_text, self.time_approx = other.time_text, other.time_approx
        self.anonymous = self.anonymous or other.anonymous
        self.text = f"{self.text}\n{other.text}".strip()
        return filled

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["occurred_at"] = self.occurred_at.isoformat() if self.occurred_at else None
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "ParsedReport":
        d = dict(d)
        if d.get("occurred_at"):
            d["occurred_at"] = datetime.fromisoformat(d["occurred_at"])
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


# ---- pieces -------------------------------------------------------------------------------------------------

def strip_anonymous(text: str) -> tuple[str, bool]:
    """Remove the word 匿名 (and brackets around it); True when the reporter asked for anonymity."""
    if "匿名" not in text:
        return text, False
    return ANON_RE.sub("", text, count=1).strip(), True


def _bed_number(prefix: str | None, number: str) -> str | None:
    n = cn_number(number)
    if n is None or n == 0 or n > 300:
        return None
    return ("加" if prefix else "") + str(n)


def extract_bed(text: str, places: PlaceTable | None = None) -> str | None:
    """The bed as people write it: 3床, 十二床, 加6床, 15号床, 床号：15, 床号:加6, and after a ward name
    产科15号, 老年病科加3 (never 6号机, 床旁, 隔壁床)."""
    m = BED_TEMPLATE_RE.search(text)
    if m and (bed := _bed_number(m.group(1), m.group(2))):
        return bed
    found = []
    for m in BED_RE.finditer(text):
        if (bed := _bed_number(m.group(1), m.group(2))):
            found.append((m.start(), bed))
            break
    for p in (places or _places()).find_all(text):
        after = WARD_BED_RE.match(text, p.end)
        if after and (bed := _bed_number(after.group(1), after.group(2))):
            found.append((p.end, bed))
            break
    return min(found)[1] if found else None


def extract_ward(text: str, places: PlaceTable | None = None,
                 extra: dict[str, str] | None = None) -> tuple[str | None, str | None]:
    """(ward as written, standard department): "呼吸科二病区" → ("呼吸科二病区", "呼吸内科"); a department that only
    phoned or was consulted (检验科来电, 请骨科会诊) is not the ward; nothing named → (None, None)."""
    p = (places or _places()).find(text, extra)
    if p is not None:
        return p.written, p.department
    m = WARD_SUFFIX_RE.search(text)
    if m and "病区" in m.group(0):
        return m.group(0), None
    return None, None


def extract_patient(text: str) -> str | None:
    """The patient's name as written (王某某, 张三) or None."""
    for m in PSEUDONYM_RE.finditer(text):
        if m.group(1) in SURNAMES:
            return m.group(0)
    for m in PATIENT_CUE_RE.finditer(text):
        cand = m.group(1)
        if cand[0] not in SURNAMES:
            continue
        name = cand[:2]
        if len(cand) >= 3 and cand[2] not in NAME_BREAK:
            name = cand[:3]
        if name[1] in NAME_BREAK or name[:2] in NOT_NAMES:
            continue
        return name
    return None


def extract_actions(text: str) -> str | None:
    """The clauses that say what was done (已处理, 立即停药, 予地塞米松…)."""
    clauses = [c.strip() for c in re.split(r"[，,。；;！!\n]", text) if c.strip()]
    done = [c for c in clauses if any(w in c for w in ACTION_WORDS)]
    return "，".join(done)[:200] or None


NLP_ALONE_CONFIDENCE = 0.8


def scanner_categories(text: str, scanner, table: KeywordTable) -> dict[str, tuple[float, str]]:
    """{category: (confidence, severity)} of the scanner's affirmed event findings; {} without a scanner."""
    if scanner is None:
        return {}
    from nlp.types import NoteInput
    result = scanner.scan(NoteInput(id="dingtalk-report", text=text, note_type="不良事件上报"))
    out: dict[str, tuple[float, str]] = {}
    for f in result.findings:
        if f.kind != "event" or f.category not in table.categories:
            continue
        if (f.context or {}).get("negated") or (f.context or {}).get("hypothetical"):
            continue
        conf, sev = out.get(f.category, (0.0, "IV"))
        out[f.category] = (max(conf, f.confidence), min(sev, f.severity, key=_rank))
    return out


def _rank(severity: str) -> int:
    return ("I", "II", "III", "IV").index(severity) if severity in ("I", "II", "III", "IV") else 3


def rank_categories(text: str, *, scanner, table: KeywordTable, wording: Colloquial,
                    nlp: dict[str, tuple[float, str]] | None = None) -> list[tuple[str, str]]:
    """(category, source) candidates, likeliest first: report wording (colloquial rules and keywords), with the
    NLP scanner's vote deciding among them; categories only the scanner names come last, source "nlp_only"
    (offered as the first choice when the bot asks, not decided alone). `nlp`: the scanner's categories when the
    caller has them already (one scan per message)."""
    fixed = wording.fix_typos(text)
    score: dict[str, float] = {}
    for code, s, _ in table.match_categories(fixed):
        score[code] = score.get(code, 0) + s
    for code, s in wording.categories(fixed):
        score[code] = score.get(code, 0) + s
    if nlp is None:
        nlp = scanner_categories(fixed, scanner, table)
    ranked = sorted(score, key=lambda c: -(score[c] + (4 if c in nlp else 0)))
    out = [(c, "nlp" if c in nlp else "keywords") for c in ranked]
    out += [(c, "nlp_only") for c in sorted(nlp, key=lambda c: -nlp[c][0]) if c not in score]
    return out


def parse_report(text: str, *, table: KeywordTable, now: datetime, tz: ZoneInfo, scanner=None,
                 departments: tuple[str, ...] | dict[str, str] = (), places: PlaceTable | None = None,
                 wording: Colloquial | None = None) -> ParsedReport:
    """Everything one message says. `scanner` is the shared nlp Scanner (None: report wording only);
    `departments` are the hospital's own department names or codes (from the database), recognised as wards."""
    text, anonymous = strip_anonymous(text.strip())
    places, wording = places or _places(), wording or _wording()
    rep = ParsedReport(text=text, anonymous=anonymous)
    fixed = wording.fix_typos(text)
    nlp = scanner_categories(fixed, scanner, table)
    ranked = rank_categories(text, scanner=scanner, table=table, wording=wording, nlp=nlp)
    rep.extra["likely"] = [c for c, _ in ranked[:4]]
    nlp_only = [c for c, src in ranked if src == "nlp_only"]
    # the scanner alone decides when the report wording names nothing and it finds exactly one event, surely
    sure = (len(ranked) == 1 and nlp_only
            and nlp[nlp_only[0]][0] >= NLP_ALONE_CONFIDENCE)
    if ranked and (ranked[0][1] != "nlp_only" or sure):
        cat, source = ranked[0]
        source = "nlp" if source == "nlp_only" else source
        rep.category, rep.category_source = cat, source
        if source == "nlp" and cat in nlp:
            rep.severity, rep.severity_source = nlp[cat][1], "nlp"
        else:
            rep.severity, rep.severity_source = table.default_severity(cat), "default"
    hint = table.severity_hint(fixed)
    if hint:
        rep.severity, rep.severity_source = hint, "hint"
    extra = departments if isinstance(departments, dict) else {d: d for d in departments if d}
    rep.bed = extract_bed(fixed, places)
    own = {k: v for k, v in extra.items() if places.canonical(k) is None}
    rep.ward, rep.department = extract_ward(fixed, places, own)
    found = places.find(fixed, own)
    rep.extra["ward_with_bed"] = bool(found and found.bed_follows)
    rep.occurred_at, rep.time_text, rep.time_approx = extract_time(fixed, now=now, tz=tz)
    rep.patient = extract_patient(text)
    rep.actions = extract_actions(text)
    return rep


@lru_cache(maxsize=1)
def _places() -> PlaceTable:
    from service.settings import REPO_DATA_DIR
    return place_table(str(REPO_DATA_DIR))


@lru_cache(maxsize=1)
def _wording() -> Colloquial:
    from service.settings import REPO_DATA_DIR
    return colloquial(str(REPO_DATA_DIR))
