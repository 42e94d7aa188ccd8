"""Known adverse reactions of a drug, added to the explanation of an adverse-drug-reaction finding.

``data/knowledge/drug_adverse_reactions.tsv`` (derived once from the CMeKG knowledge graph by
``data/lexicons/derive_cmekg.py``) lists drug<TAB>reaction pairs. For each finding of category
``adverse_drug_reaction`` the component looks at the drug entities of the finding's sentence; when the sentence
(evidence included) names reactions listed for one of them, it appends a short note to the explanation, e.g.
"（皮疹为头孢曲松说明书/知识库记载的不良反应）". Specific reactions (皮疹、寒战) are named before mere restatements
(过敏、过敏反应); a reaction word that is negated or the aim of a treatment (无皮疹、抗过敏) does not count, nor
does a drug given after the reaction (出现皮疹，予地塞米松). It never adds, removes or re-scores a finding.

Drug names are looked up as written, by their generic stem and by the lexicon's ``generic`` attribute (a brand:
罗氏芬 → 头孢曲松): ``drug_keys`` strips the dosage form (片、胶囊、注射液 …), the 注射用 prefix and a salt
(盐酸…、…钠). The derivation keyed the table with the same function (注射用头孢曲松钠 → 头孢曲松), so a change to
it means deriving the table again.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc

from nlp.doc import doc_text, sentence_bounds
from nlp.normalize import normalize_text

CATEGORY = "adverse_drug_reaction"
TABLE = "drug_adverse_reactions.tsv"

# dosage forms, longest first so that 缓释胶囊 is removed before 胶囊
FORMS = sorted([
    "缓释胶囊", "控释胶囊", "肠溶胶囊", "软胶囊", "硬胶囊", "胶囊", "缓释片", "控释片", "肠溶片", "分散片", "泡腾片",
    "咀嚼片", "口腔崩解片", "口崩片", "口内崩解片", "含片", "口含片", "薄膜衣片", "糖衣片", "舌下片", "阴道片", "速释片",
    "双层片", "粘贴片", "片", "氯化钠注射液", "葡萄糖注射液", "注射液", "注射剂", "粉针剂", "冻干粉针", "输液",
    "口服溶液", "口服液", "口服乳剂", "混悬液", "干混悬剂", "混悬剂", "混悬滴眼液", "溶液", "乳剂", "糖浆", "合剂", "酊",
    "搽剂", "洗剂", "滴剂", "滴眼液", "眼用凝胶", "眼膏", "滴鼻液", "鼻喷雾剂", "滴耳液", "滴耳剂", "喷雾剂", "气雾剂",
    "吸入气雾剂", "粉雾剂", "吸入粉雾剂", "吸入剂", "吸入溶液", "颗粒", "颗粒剂", "缓释颗粒", "冲剂", "散剂", "乳膏", "软膏",
    "凝胶", "贴剂", "贴片", "贴膏", "栓剂", "栓", "阴道栓", "胶丸", "滴丸", "口含滴丸", "丸", "微丸", "药膜",
], key=len, reverse=True)
SALT_PREFIXES = ("盐酸", "硫酸", "磷酸", "马来酸", "富马酸", "酒石酸", "甲磺酸", "苯磺酸", "枸橼酸", "琥珀酸", "醋酸",
                 "氢溴酸", "乳酸", "甲硫酸", "萘磺酸")
SALT_SUFFIXES = ("二钠", "钠", "钾", "钙")


@functools.lru_cache(maxsize=50_000)
def drug_keys(name: str) -> tuple[str, ...]:
    """The name (normalised) and its stems, most specific first:
    注射用头孢曲松钠 → (注射用头孢曲松钠, 头孢曲松钠, 头孢曲松); 硝酸甘油片 → (硝酸甘油片, 硝酸甘油)."""
    n = normalize_text(name.strip())
    out = [n]
    if n.startswith("注射用") and len(n) - 3 >= 2:
        n = n[3:]
    for f in FORMS:
        if n.endswith(f) and len(n) - len(f) >= 2:
            n = n[:-len(f)]
            break
    out.append(n)
    for p in SALT_PREFIXES:                       # 盐酸吗啡 → 吗啡, but 硝酸甘油 and 硫酸镁 stay
        if n.startswith(p) and len(n) - len(p) >= 2:
            n = n[len(p):]
            out.append(n)
            break
    for s in SALT_SUFFIXES:                       # 头孢曲松钠 → 头孢曲松, but 碳酸氢钠、葡萄糖酸钙 stay
        if n.endswith(s) and len(n) - len(s) >= 3 and n[-2] not in "酸氢化盐":
            out.append(n[:-len(s)])
            break
    return tuple(dict.fromkeys(out))


def drug_stem(name: str) -> str:
    """The most general key: the table's drug column."""
    return drug_keys(name)[-1]


class AdrTableError(ValueError):
    """drug_adverse_reactions.tsv is missing or malformed (the message names the file and line)."""


@functools.lru_cache(maxsize=4)
def load_reactions(path: str) -> dict[str, tuple[str, ...]]:
    """drug -> known reactions (a table with '# version:' and a drug/reaction header row)."""
    p = Path(path)
    if not p.exists():
        raise AdrTableError(f"{p}: 知识表不存在 / knowledge table missing")
    table: dict[str, list[str]] = {}
    header = None
    has_version = False
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith("#"):
                has_version = has_version or bool(re.match(r"#\s*version:\s*\S", line))
                continue
            if not line.strip():
                continue
            cells = line.rstrip("\n").split("\t")
            if header is None:
                header = cells
                if header[:2] != ["drug", "reaction"]:
                    raise AdrTableError(f"{p.name}:{n}: 表头应以 drug<TAB>reaction 开始 / "
                                        "header must start with drug, reaction")
                continue
            if len(cells) != len(header) or not cells[0] or not cells[1]:
                raise AdrTableError(f"{p.name}:{n}: 应有 {len(header)} 列 / expected {len(header)} columns")
            table.setdefault(cells[0], []).append(normalize_text(cells[1]))
    if not has_version:
        raise AdrTableError(f"{p.name}: 缺少版本头 '# version: X' / missing '# version:' header")
    return {d: tuple(sorted(set(rs))) for d, rs in table.items()}


def written_forms(reaction: str) -> tuple[str, ...]:
    """How a listed reaction is written in notes: 瘙痒症 → (瘙痒症, 瘙痒), 癫痫病 → (癫痫病, 癫痫),
    高钾血症 → (高钾血症, 高钾)."""
    out = [reaction]
    if reaction.endswith("血症") and len(reaction) >= 4:
        out.append(reaction[:-2])
    elif reaction[-1] in "症病" and len(reaction) >= 3:
        out.append(reaction[:-1])
    return tuple(out)


# a drug written right after one of these, after the reaction, is the treatment of the reaction (予地塞米松)
# (not 使用/应用: 考虑与使用头孢曲松有关 names the cause after the reaction)
_TREATMENT_BEFORE = re.compile(r"(予以?|给予|给|加用|改用|换用|改为)$")
# a reaction word that is not a reaction of this patient: 抗过敏、防止呕吐、无皮疹、否认过敏、过敏史
_NOT_BEFORE = re.compile(r"(抗|防|止|无|未|未见|未诉|否认|没有|不伴)$")
_NOT_AFTER = ("史",)
MAX_REACTIONS = 3
# reactions that only restate the finding (药物过敏 → 过敏): named only when the sentence names no other one
GENERIC = frozenset({"过敏", "过敏反应", "变态反应", "超敏反应", "过敏样反应", "类过敏反应", "不良反应", "药物反应"})


class AdrKnowledge:
    def __init__(self, table: dict[str, tuple[str, ...]]) -> None:
        self.table = table
        self._forms: dict[str, tuple[tuple[str, str], ...]] = {}

    def reactions_of(self, name: str, attrs: dict | None = None) -> tuple[str, tuple[str, ...]] | None:
        """(table key, reactions) for a written drug name, or None."""
        keys = list(drug_keys(name))
        generic = (attrs or {}).get("generic")
        if generic:
            keys.extend(drug_keys(generic))
        for k in keys:
            if k in self.table:
                return k, self.table[k]
        return None

    def _forms_of(self, key: str) -> tuple[tuple[str, str], ...]:
        """(written form, listed reaction) of a drug, longest form first."""
        forms = self._forms.get(key)
        if forms is None:
            pairs = {(w, r) for r in self.table[key] for w in written_forms(r)}
            forms = self._forms[key] = tuple(sorted(pairs, key=lambda wr: (-len(wr[0]), wr[0])))
        return forms

    def __call__(self, doc: Doc) -> Doc:
        findings = [f for f in (doc._.findings or []) if f.category == CATEGORY]
        if not findings or "entities" not in doc.spans:
            return doc
        text = doc_text(doc)
        norm = doc._.norm if doc._.norm is not None else normalize_text(text)
        drugs = []
        for s in doc.spans["entities"]:
            if s.label_ != "药物" or s._.negated:
                continue
            at = s._.attrs or {}
            drugs.append((at.get("start", s.start_char), at.get("end", s.end_char), at))
        if not drugs:
            return doc
        for f in findings:
            a, b = sentence_bounds(doc, f.start, f.end)
            notes: dict[tuple[str, ...], list[str]] = {}    # reactions as written -> drugs, in the order written
            for s0, s1, at in sorted(drugs, key=lambda d: d[0]):
                if not (a <= s0 and s1 <= b):
                    continue
                written = text[s0:s1]
                hit = self.reactions_of(norm[s0:s1], at)
                if hit is None:
                    continue
                forms = self._forms_of(hit[0])
                found = self.reactions_in(norm, a, b, [wr for wr in forms if wr[1] not in GENERIC], skip=(s0, s1)) \
                    or self.reactions_in(norm, a, b, [wr for wr in forms if wr[1] in GENERIC], skip=(s0, s1))
                if not found:
                    continue
                if s0 > found[0][0] and _TREATMENT_BEFORE.search(norm[max(a, s0 - 4):s0]):
                    continue                          # 出现皮疹，予地塞米松: the treatment, not the cause
                names = notes.setdefault(tuple(text[i:j] for i, j in found), [])
                if written not in names:
                    names.append(written)
            for reactions, names in notes.items():
                note = f"（{'、'.join(reactions)}为{'、'.join(names)}说明书/知识库记载的不良反应）"
                if note not in f.explanation:
                    f.explanation = f.explanation + note
        return doc

    @staticmethod
    def reactions_in(norm: str, a: int, b: int, forms, skip=(0, 0)) -> list[tuple[int, int]]:
        """Non-overlapping (start, end) of known reactions written in norm[a:b], in text order (at most
        MAX_REACTIONS); longer forms first, none inside the drug name itself, none negated or a treatment aim."""
        taken: list[tuple[int, int]] = []
        window = norm[a:b]
        for w, _ in forms:
            i = window.find(w)
            while i >= 0:
                s, e = a + i, a + i + len(w)
                ok = not (s < skip[1] and skip[0] < e) and not any(s < y and x < e for x, y in taken)
                ok = ok and not _NOT_BEFORE.search(norm[max(0, s - 2):s]) and not norm.startswith(_NOT_AFTER, e)
                if ok:
                    taken.append((s, e))
                i = window.find(w, i + 1)
        return sorted(taken)[:MAX_REACTIONS]


@Language.factory("aew_adr_knowledge", default_config={"data_dir": ""})
def make_adr_knowledge(nlp: Language, name: str, data_dir: str) -> AdrKnowledge:
    """``data_dir``: the data folder; the table is <data_dir>/knowledge/drug_adverse_reactions.tsv."""
    from nlp.pipeline import DEFAULT_DATA_DIR     # late: nlp.pipeline imports this module to register the factory
    base = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    return AdrKnowledge(load_reactions(str(base / "knowledge" / TABLE)))
