"""One-off: derive the CMeKG drug lexicon and the drug–adverse-reaction table from PyCMeKG (MIT).

usage: .venv/bin/python data/lexicons/derive_cmekg.py PATH/TO/PyCMeKG-0.2.5 [--root .]
  PATH: the unpacked sdist (``pip download PyCMeKG==0.2.5 --no-deps``, then ``tar xzf``), or its cmekg.pkl.
Writes (sorted, deterministic; prints the counts; --dropped FILE also lists each dropped name and why):
  data/lexicons/cmekg_drugs.tsv              drug names, type 药物, in the lexicon format
  data/knowledge/drug_adverse_reactions.tsv  drug<TAB>reaction<TAB>entries
  data/lexicons/CMEKG_LICENSE.txt and data/knowledge/CMEKG_LICENSE.txt  the package's MIT notice

The pickle is read ONLY here, with ``RestrictedUnpickler``: it builds plain containers (dict, list, set, tuple,
str, int, float) and refuses every other global, so a tampered file cannot run code. Nothing unpickles at run
time: the product reads the TSV files. PyCMeKG is not a dependency of the project.
"""
from __future__ import annotations

import argparse
import builtins
import collections
import io
import pickle
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

VERSION = "2026.11.1"
SOURCE = ("PyCMeKG 0.2.5 (PyPI; github.com/king-yyf/PyCMeKG), file pyCMeKG/model/cmekg.pkl: the CMeKG "
          "中文医学知识图谱 (Peking University / Zhengzhou University) as packaged there")
LICENCE = ("MIT License, Copyright (c) 2018-2019 cmekg authors; full notice in CMEKG_LICENSE.txt next to this file. "
           "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND.")

# ---------------------------------------------------------------------------------------------------------
# restricted unpickling


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles plain containers only: ``find_class`` resolves builtins.dict/list/set/tuple/str/int/float
    and raises ``pickle.UnpicklingError`` for anything else (os.system, subprocess, functools.partial …)."""

    ALLOWED = frozenset({"dict", "list", "set", "tuple", "str", "int", "float"})

    def find_class(self, module: str, name: str):
        if module in ("builtins", "__builtin__") and name in self.ALLOWED:     # __builtin__: protocols 0-2
            return getattr(builtins, name)
        raise pickle.UnpicklingError(f"refused global {module}.{name}: only plain containers may be unpickled")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused persistent id")


def restricted_loads(data: bytes):
    return RestrictedUnpickler(io.BytesIO(data)).load()


def load_graph(path: Path) -> dict[str, dict[str, list[str]]]:
    """The CMeKG dict (subject -> predicate -> [objects]), checked to be exactly that shape."""
    if path.is_dir():
        path = path / "pyCMeKG" / "model" / "cmekg.pkl"
    with path.open("rb") as f:
        graph = RestrictedUnpickler(f).load()
    if not isinstance(graph, dict):
        raise ValueError(f"{path}: expected a dict, got {type(graph).__name__}")
    for s, preds in graph.items():
        if not isinstance(s, str) or not isinstance(preds, dict):
            raise ValueError(f"{path}: subject {s!r} is not str -> dict")
        for p, objs in preds.items():
            if not isinstance(p, str) or not isinstance(objs, list) or not all(isinstance(o, str) for o in objs):
                raise ValueError(f"{path}: {s!r}/{p!r} is not str -> list[str]")
    return graph


# ---------------------------------------------------------------------------------------------------------
# which subjects are drugs

DRUG_PREDICATES = {"不良反应", "成份", "OTC类型", "药品监管分级", "药品类型", "规格", "通用名", "商品名", "适应症", "禁忌",
                   "药物相互作用"}
DISEASE_PREDICATES = {"ICD10", "常见症状", "就诊科室", "常见病因", "多发群体", "常见发病部位", "并发症", "传染性"}
HERB_PREDICATES = {"界", "门", "纲", "科", "目", "属", "种", "性味", "入药部位", "功效", "采收时间", "分布区域"}
# objects that name diseases, symptoms or findings: a "drug" name found among them is not taken as a drug
# (not 不良反应 or 常见病因: those lists name drugs too — 药物性肝炎 is caused by 保泰松)
CONDITION_PREDICATES = {"适应症", "功能主治", "主治", "常见症状", "相关症状", "临床症状及体征", "相关疾病", "并发症"}


def drug_subjects(graph) -> dict[str, dict[str, list[str]]]:
    """Subjects with drug predicates and none of a disease or a medicinal plant/animal (TCM herbs are left out:
    many are foods — 茄子、李子、鲤鱼)."""
    return {s: p for s, p in graph.items()
            if set(p) & DRUG_PREDICATES and not set(p) & (DISEASE_PREDICATES | HERB_PREDICATES)}


# ---------------------------------------------------------------------------------------------------------
# lexicon: drug names

_NAME_CHARS = re.compile(r"[\u4e00-\u9fffa-z0-9]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CONDITION_END = re.compile(r"(炎|病|症|癌|瘤|菌|溃疡|感染|综合征|损伤|骨折|出血|结石|中毒)$")
# characters of traditional-medicine product names (补肾益脑、清热解毒): a stem made of none of them, from a product
# that is not a 中成药, reads as a chemical or biological generic name (马普替林、托珠单抗)
_TCM_CHARS = set("补益清热解毒健脾胃肾肝心肺气血活通络消止咳痛风湿寒养安神宁康灵丹参草花归芪黄连香红白金银复方妇经"
                 "调和中舒乐骨筋明目耳鼻喉咽口牙疮痔疹癣斑虚阴阳精元宝仙圣福寿春秋天地山川龙虎鹿熊蛇蝎驴牛羊鸡乌药丸散"
                 "膏汤饮茶酒露味儿")
_FRAGMENT_END = re.compile(r"(滴|吸入|粉|眼用|鼻|泡腾|肠溶|速释|缓释|控释|双层|微粉|崩解|氯化钠|葡萄糖|二|口服|外用|注射用)$")
_PLACE_POS = {"ns"}
SUBSTRING_LIMIT = 10       # a 2-character name inside jieba words of this total frequency is a word part (可耐受)
SINGLE_CHAR_LIMIT = 10000  # a 2-character name made of two such frequent one-character words arises across words (可由)


def jieba_words() -> dict[str, tuple[int, str]]:
    import jieba
    words = {}
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                words[parts[0]] = (int(parts[1]), parts[2])
    return words


def own_lexicon_terms(lexicon_dir: Path) -> dict[str, str]:
    """term (normalised) -> type, from the project's own lexicons (every *.tsv but the CMeKG one)."""
    from nlp.normalize import normalize_text
    terms = {}
    for path in sorted(lexicon_dir.glob("*.tsv")):
        if path.name == "cmekg_drugs.tsv":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#") or not line.strip():
                continue
            parts = line.split("\t")
            terms.setdefault(normalize_text(parts[0].strip()), parts[1].strip())
    return terms


def general_word(name: str, jw: dict, in_words: collections.Counter) -> str | None:
    """Why a name is a general word rather than a drug name, or None."""
    if name in jw:
        freq, pos = jw[name]
        if len(name) == 2 and (pos != "n" or freq >= 100):
            return f"jieba word {freq}/{pos}"
        if len(name) > 2 and (freq >= 100 or (pos in ("nr", "nrt", "ns", "nt") and freq >= 20)):
            return f"jieba word {freq}/{pos}"
    if len(name) == 2 and in_words[name] >= SUBSTRING_LIMIT:
        return f"inside jieba words ({in_words[name]})"
    if len(name) == 2 and min(jw.get(c, (0, ""))[0] for c in name) >= SINGLE_CHAR_LIMIT:
        return "two frequent one-character words"
    return None


def clean_name(name: str) -> str:
    """Normalised name without a trailing parenthesis (盐酸地尔硫卓缓释胶囊（II） → 盐酸地尔硫卓缓释胶囊)."""
    from nlp.normalize import normalize_text
    n = normalize_text(name.strip())
    return re.sub(r"[(（][^()（）]*[)）]$", "", n).strip()


def generic_names(drugs) -> dict[str, str]:
    """Written name -> generic stem: a brand (subject with 通用名, or 商品名 object) -> the stem of its generic
    product; any other name -> its own stem (注射用头孢曲松钠 → 头孢曲松)."""
    from nlp.adr_knowledge import drug_stem
    votes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for s, p in drugs.items():
        generics = [clean_name(g) for g in p.get("通用名", [])]
        generics = [g for g in generics if _NAME_CHARS.fullmatch(g)]
        own = clean_name(s)
        if generics:
            votes[own][drug_stem(generics[0])] += 2
        elif _NAME_CHARS.fullmatch(own):
            votes[own][drug_stem(own)] += 2
            for b in p.get("商品名", []):
                votes[clean_name(b)][drug_stem(own)] += 1
    return {n: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for n, c in votes.items()}


def company_brands(drugs, jw: dict) -> set[str]:
    """Brand names that are company or place names: one brand for three or more unrelated generics (康恩贝, 敖东),
    or a brand that starts with a place name (陕西天宇, 北京万生)."""
    from nlp.adr_knowledge import drug_stem
    generics: dict[str, set] = collections.defaultdict(set)
    for s, p in drugs.items():
        if p.get("通用名"):
            generics[clean_name(s)].add(drug_stem(clean_name(p["通用名"][0])))
        for b in p.get("商品名", []):
            generics[clean_name(b)].add(drug_stem(clean_name(s)))
    out = set()
    for b, gs in generics.items():
        if len(gs) >= 3 and len({g[:2] for g in gs}) > 1:
            out.add(b)
        head = next((b[:k] for k in (3, 2) if b[:k] in jw), None)
        if head and jw[head][1] in _PLACE_POS and jw[head][0] >= 1000 and len(b) > len(head):
            out.add(b)
    return out


def stem_reads_as_generic(stem: str, tcm_sources: bool) -> bool:
    return (not tcm_sources and len(stem) >= 3 and not set(stem) & _TCM_CHARS and not stem.startswith(("小儿", "复方"))
            and not _FRAGMENT_END.search(stem))


def derive_names(drugs, graph, own: dict[str, str], jw: dict, generic_of: dict[str, str]):
    """(kept: name -> attrs, dropped: name -> reason)."""
    from nlp.adr_knowledge import drug_keys
    from nlp.normalize import normalize_text

    ingredients = {normalize_text(o) for p in graph.values() for o in p.get("成份", [])}
    conditions = {normalize_text(o) for p in graph.values() for k in CONDITION_PREDICATES for o in p.get(k, [])}
    conditions |= {normalize_text(s) for s, p in graph.items() if set(p) & DISEASE_PREDICATES}

    # candidates: subject names, 通用名 and 商品名 objects; and generic stems (注射用头孢曲松钠 → 头孢曲松钠, 头孢曲松)
    names: set[str] = set()
    stems: set[str] = set()
    tcm_stems: set[str] = set()                       # stems of a 中成药 product
    for s, p in drugs.items():
        tcm = "功能主治" in p or p.get("分类") == ["中成药"]      # 分类 is noisy: 注射用头孢曲松钠 lists 中成药 too
        for n in [s, *p.get("通用名", []), *p.get("商品名", [])]:
            n = normalize_text(n.strip())
            names.add(n)
            if _NAME_CHARS.fullmatch(n):
                ks = [k for k in drug_keys(n)[1:] if len(k) >= 3]
                stems.update(ks)
                if tcm:
                    tcm_stems.update(ks)
    stems -= names
    companies = company_brands(drugs, jw)

    two = {n for n in names | stems if len(n) == 2}
    in_words: collections.Counter = collections.Counter()
    for w, (freq, _) in jw.items():
        if len(w) >= 3:
            for i in range(len(w) - 1):
                if w[i:i + 2] in two:
                    in_words[w[i:i + 2]] += freq

    own_drugs = {t for t, ty in own.items() if ty == "药物"}
    kept, dropped = {}, {}
    for n in sorted(names | stems):
        if len(n) < 2:
            why = "one character"
        elif not _NAME_CHARS.fullmatch(n):
            why = "punctuation or symbols"
        elif len(_CJK.findall(n)) < 2:
            why = "latin letters / digits (fewer than two Chinese characters)"
        elif n in own:
            why = f"in the project's own lexicon ({own[n]})"
        elif n in conditions or _CONDITION_END.search(n):
            why = "names a disease/symptom/organism"
        elif n in companies:
            why = "company or place name"
        elif n in stems and n not in ingredients and not stem_reads_as_generic(n, n in tcm_stems):
            why = "stem not confirmed as an ingredient name"
        else:
            why = general_word(n, jw, in_words)
        if why:
            dropped[n] = why
            continue
        attrs = {}
        generic = next((k for k in drug_keys(n)[1:] if k in own_drugs), None)
        if generic is None and generic_of.get(n, n) not in drug_keys(n):
            generic = generic_of[n]                   # a brand: its generic is not written in its name
        if generic and generic != n:
            attrs["generic"] = generic
        kept[n] = attrs
    return kept, dropped


# ---------------------------------------------------------------------------------------------------------
# adverse reactions

_SPLIT = re.compile(r"[、，,；;。．.：:/\\\s＋+]+|以及|或者|或|及|和|与|伴有|伴|甚至|如|等")
_BRACKETS = re.compile(r"[（(［\[【][^）)］\]】]*[）)］\]】]")
_BRACKET_INNER = re.compile(r"[［\[【]([^］\]】]+)[］\]】]")
_LEAD = re.compile(r"^(表现为|主要表现为|可表现为|偶见|偶有|偶尔|偶可|偶|少见|罕见|罕有|极少数患者|极少数|少数患者|少数病人|少数人|少数|个别患者|个别病例|"
                   r"个别|极少|可见|可有|可出现|可能出现|可能|可引起|可致|可|出现|发生|引起|导致|轻度|轻微|中度|重度|严重|明显|"
                   r"一过性|暂时性|甚至|也有|其它|其他|一般|常见|较常见|较少见|主要为|主要有|包括|有时|多为|如|及|和|或|伴|有)")
_TRAIL = re.compile(r"(等不良反应|等症状|等反应|等现象|等表现|等|的患者|者|症状)$")
_DISEASE_LIKE = re.compile(r"(症|病|炎|血症|尿|疹|癣|综合征|衰竭|不全|休克|溃疡|穿孔|梗死|梗塞|栓塞|坏死|出血|中毒|"
                           r"过敏|反应|失常|不齐|水肿|结石|梗阻|狭窄|损害|损伤|麻痹|痉挛|依赖)$")
_SYMPTOM_END = re.compile(r"(痛|疼|痒|肿|晕|吐|泻|热|烧|咳|喘|汗|秘|闷|悸|慌|乏力|无力|困难|障碍|异常|减少|减退|降低|下降|缺乏|"
                          r"增多|增高|升高|增加|延长|缩短|过多|过少|减低|抑制|红斑|紫癜|黄疸|抽搐|震颤|惊厥|嗜睡|失眠|昏迷|晕厥|"
                          r"幻觉|麻木|瘙痒|潮红|脱发|耳鸣|口干|便秘|腹胀|胀气|纳差|厌食|寒战|寒颤|发冷|不适|不适感|灼热感|"
                          r"烧灼感|模糊|苍白|发红|红肿|硬结|口渴|胀|衰弱|疲劳|疲乏|倦怠|困倦|错乱|沉着|脱落|紊乱|烦躁|焦虑|抑郁|"
                          r"不安|激动|欣快|淤斑|瘀斑|瘀点|色素沉着|发绀|心悸|眩晕|嗳气|反酸|呃逆|鼻塞|流涕|喷嚏|低热|高热|发热|"
                          r"黑便|血便|便血|咯血|鼻衄|鼻出血|流泪|复视|畏光|共济失调|肌张力障碍|锥体外系反应|心动过速|心动过缓|"
                          r"骨髓抑制|脱水|酸中毒|碱中毒|高血压|低血压|低血糖|高血糖|皮疹|丘疹|荨麻疹|风团|水疱|大疱|剥脱|溢乳|"
                          r"阳痿|闭经|月经失调|体重增加|体重减轻|肝损害|肾损害)$")
_ANALYTE_END = re.compile(r"(酶|素|酸|蛋白|计数|氮|酐|糖|钾|钠|钙|镁|磷|氯|胆固醇|甘油三酯|浓度|水平|值|时间|容积|比容|细胞|"
                          r"胆红素|比率|指数|试验|检查|测定)$")
# words that say nothing about what happened to the patient, and meta words of trial reports
STOP = {"不适", "疼痛", "刺激", "敏感", "过多", "亢进", "干燥", "炎症", "感染", "坏死", "反应", "不良反应", "副作用", "副反应",
        "尚不明确", "尚不清楚", "双盲", "随机", "安慰剂对照", "安慰剂", "开放", "年龄", "剂量", "饮食", "紧缩", "兴奋",
        "激动", "混乱", "错乱", "神经病", "精神病", "过敏症", "变化", "影响", "损害", "损伤", "过量", "停药", "中毒",
        "异常", "障碍", "减少", "增加", "升高", "降低", "下降", "延长", "毒性", "依赖", "水平", "紊乱", "光敏感试验",
        "流感", "肾病", "肝病", "糖尿", "糖尿病", "麻疹", "风疹", "疱疹", "过敏性气喘病", "溶血症"}
MIN_SUPPORT = 3            # a reaction phrase must occur in the lists of at least this many CMeKG entries


def reaction_phrases(raw: str) -> list[str]:
    """Short symptom-like phrases of one 不良反应 object: split lists, strip qualifiers (偶见…等)."""
    from nlp.normalize import normalize_text
    raw = normalize_text(raw)
    parts = _BRACKET_INNER.findall(raw)               # 睡眠障碍［失眠症］ → 失眠症
    if not parts:
        parts = _SPLIT.split(_BRACKETS.sub("，", raw))
    out = []
    for p in parts:
        p = p.strip()
        for _ in range(3):
            p = _LEAD.sub("", p)
        p = _TRAIL.sub("", p)
        p = re.sub(r"[\d%％.]+$", "", p)
        if re.match(r"(未|尚未|暂无|无明显|无不良|没有)", p):
            continue                                   # 未见不良反应
        if 2 <= len(p) <= 8 and re.fullmatch(r"[\u4e00-\u9fff]+", p):
            out.append(p)
    return out


def symptom_like(p: str, own: dict[str, str], drug_names: set[str]) -> bool:
    if p in STOP or p in drug_names or own.get(p) == "药物" or re.search(r"(癌|瘤)$", p):
        return False                                   # tumours are indications copied into the list, not reactions
    if own.get(p) in ("症状", "疾病和诊断"):
        return True
    if _DISEASE_LIKE.search(p):
        return True
    if _ANALYTE_END.search(p) or own.get(p) == "实验室检验":
        return False                                   # 血糖, 胆红素, 碱性磷酸酶: no direction, not an event
    return bool(_SYMPTOM_END.search(p))


def derive_reactions(drugs, own: dict[str, str], drug_names: set[str], generic_of: dict[str, str]):
    """(pairs: (generic stem, reaction) -> number of CMeKG entries, stats). A brand's reactions count for its
    generic (威凡 → 伏立康唑): the lexicon gives brand names a ``generic`` attribute."""
    per_entry = {}
    support: collections.Counter = collections.Counter()
    for s, p in drugs.items():
        phrases = {x for r in p.get("不良反应", []) for x in reaction_phrases(r)}
        if phrases:
            per_entry[s] = phrases
            support.update(phrases)
    accepted = {x for x, n in support.items() if n >= MIN_SUPPORT and symptom_like(x, own, drug_names)}
    pairs: collections.Counter = collections.Counter()
    for s, phrases in per_entry.items():
        stem = generic_of.get(clean_name(s))
        if not stem or len(stem) < 2:
            continue
        for x in phrases & accepted:
            pairs[(stem, x)] += 1
    stats = {"entries with reactions": len(per_entry), "distinct phrases": len(support),
             "accepted phrases": len(accepted)}
    return pairs, stats


# ---------------------------------------------------------------------------------------------------------
# output


def write_lexicon(path: Path, kept: dict[str, dict]) -> None:
    lines = [
        "# lexicon: drugs from CMeKG (drug names: products, brands, generic names)",
        f"# version: {VERSION}",
        f"# source: {SOURCE}; derived by data/lexicons/derive_cmekg.py (names filtered: no punctuation, no "
        "general words per jieba's dictionary, no names of diseases/symptoms, none already in the project's own "
        "lexicons)",
        f"# licence: {LICENCE}",
        "# precedence: low (loaded after the project's own lexicons: a term they list keeps their type and "
        "attributes)",
        "# attributes: generic = the generic drug this name stands for: the project's own drug name when the name is "
        "a salt or dosage form of it (头孢曲松钠 → 头孢曲松), or the generic of a brand (威凡 → 伏立康唑)",
        "# columns: term<TAB>type<TAB>attributes (key=value;key=value, optional)",
    ]
    for n in sorted(kept):
        attrs = ";".join(f"{k}={v}" for k, v in sorted(kept[n].items()))
        lines.append(f"{n}\t药物\t{attrs}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_reactions(path: Path, pairs: collections.Counter) -> None:
    lines = [
        "# 药物不良反应知识表 drug_adverse_reactions.tsv",
        f"# version: {VERSION}",
        "# 用途: 解释药物不良反应提示（“皮疹为头孢曲松说明书/知识库记载的不良反应”），不产生也不删除任何提示。",
        "# 说明: drug 为去除剂型与盐型后的通用名（注射用头孢曲松钠 → 头孢曲松；品牌名计入其通用名：威凡 → 伏立康唑）；reaction 为说明书"
        "“不良反应”项中的症状/疾病短语（已拆分列表、去除“偶见/少见/等”等限定词）；entries 为知识图谱中列出该反应的条目"
        "（制剂/品牌）数。",
        f"# source: {SOURCE}; derived by data/lexicons/derive_cmekg.py",
        f"# licence: {LICENCE}",
        "# units: none (entries is a count)",
        "drug\treaction\tentries",
    ]
    for (drug, reaction), n in sorted(pairs.items()):
        lines.append(f"{drug}\t{reaction}\t{n}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("package", type=Path, help="unpacked PyCMeKG sdist folder, or its cmekg.pkl")
    ap.add_argument("--root", type=Path, default=ROOT, help="project root (default: this checkout)")
    ap.add_argument("--dropped", type=Path, help="also write the dropped names with the reason (for review)")
    a = ap.parse_args(argv)

    graph = load_graph(a.package)
    drugs = drug_subjects(graph)
    lexdir, kdir = a.root / "data" / "lexicons", a.root / "data" / "knowledge"
    own = own_lexicon_terms(lexdir)
    generic_of = generic_names(drugs)
    kept, dropped = derive_names(drugs, graph, own, jieba_words(), generic_of)
    write_lexicon(lexdir / "cmekg_drugs.tsv", kept)

    from nlp.normalize import normalize_text
    drug_names = set(kept) | {normalize_text(s) for s in drugs}
    pairs, stats = derive_reactions(drugs, own, drug_names, generic_of)
    write_reactions(kdir / "drug_adverse_reactions.tsv", pairs)

    pkg = a.package if a.package.is_dir() else a.package.parent.parent.parent
    lic = pkg / "LICENSE"
    if lic.exists():
        for d in (lexdir, kdir):
            shutil.copyfile(lic, d / "CMEKG_LICENSE.txt")
    else:
        print(f"warning: {lic} not found; CMEKG_LICENSE.txt not written", file=sys.stderr)
    if a.dropped:
        a.dropped.write_text("".join(f"{n}\t{why}\n" for n, why in sorted(dropped.items())), encoding="utf-8")

    reasons = collections.Counter(w.split(" (")[0] if not w.startswith("jieba") else "general word (jieba)"
                                  for w in dropped.values())
    print(f"subjects: {len(graph)}; drug subjects: {len(drugs)}")
    print(f"drug names: {len(kept)} kept, {len(dropped)} dropped")
    for why, n in reasons.most_common():
        print(f"  dropped {n:6d}  {why}")
    print(f"reactions: {stats}; pairs written: {len(pairs)} for {len({d for d, _ in pairs})} drugs")


if __name__ == "__main__":
    main()
