"""contradiction: a history item denied in one place and asserted in another place of the same note
(否认糖尿病史 … 糖尿病病史8年; 否认药物过敏史 … 对头孢过敏; 否认手术史 … 2015年行阑尾切除术)."""
from __future__ import annotations

import re

from ._common import FAMILY, Ctx, finding, short_clause

RULE = "doc.contradiction.v1"
_DENIED = re.compile(r"(?:否认|无)([^。；;：:]{2,80}?)(?:等)?(?:病)?史")
_SPLIT = re.compile(r"[、，,及和与或/]+")
_N = r"(?:\d+|[一二三四五六七八九十两数半]+)"
_NEG_BEFORE = re.compile(r"(否认|无|未|排除|有无|是否)[^，,。；;]{0,12}$")
# one denied item that names two (否认吸烟饮酒史, 否认手术外伤史)
_COMPOUND = {"吸烟饮酒": ("吸烟", "饮酒"), "烟酒": ("吸烟", "饮酒"), "饮酒吸烟": ("吸烟", "饮酒"),
             "手术外伤": ("手术", "外伤"), "外伤手术": ("手术", "外伤"), "手术及外伤": ("手术", "外伤")}
# the same history item written another way (否认肝炎史 … 乙肝病史20年)
_SYNONYMS = {"肝炎": ("肝炎", "乙肝", "丙肝", "乙型肝炎", "丙型肝炎", "病毒性肝炎"),
             "结核": ("结核", "肺结核"),
             "冠心病": ("冠心病", "冠状动脉粥样硬化性心脏病"),
             "心脏病": ("心脏病", "冠心病", "冠状动脉粥样硬化性心脏病"),
             "脑血管": ("脑血管病", "脑梗死", "脑梗塞", "脑出血", "脑卒中"),
             "脑血管病": ("脑血管病", "脑梗死", "脑梗塞", "脑出血", "脑卒中"),
             "脑梗死": ("脑梗死", "脑梗塞"), "脑梗塞": ("脑梗死", "脑梗塞")}
_INJURY = r"(车祸|摔伤|跌伤|外伤|砸伤|刀伤|撞伤|骨折|烧伤|烫伤|扭伤)"
_WHEN = r"(\d{4}\s*年|\d+\s*余?\s*年前|\d+\s*余?\s*月前|曾|既往)"


def _items(text: str):
    for m in _DENIED.finditer(text):
        if "否认" not in m.group(0)[:2] and len(m.group(1)) > 14:      # 无…史 only for short items
            continue
        for raw in _SPLIT.split(m.group(1)):
            item = re.sub(r"(等.*|病|疾病|慢性病|传染病|及.*)$", "", raw.strip())
            item = re.sub(r"^(有|患有|既往|明确)", "", item)
            for it in _COMPOUND.get(item, (item,)):
                if len(it) >= 2:
                    yield it, m.start(), m.end()


def _positive(item: str, kb) -> re.Pattern:
    e = re.escape(item)
    if "过敏" in item and "药" in item:
        from .allergy_conflict import _allergen_terms
        names = _allergen_terms(kb)[1].pattern
        return re.compile(r"对[^，,。；;]{0,6}(?:" + names + r")[^，,。；;]{0,6}过敏|(?:" + names + r")[^，,。；;无否认]{0,4}过敏史?(?!\s*[:：])"
                          r"|(?:" + names + r")皮试\s*(阳性|\(\+\)|（\+）)")
    if "过敏" in item:
        return re.compile(r"对[^，,。；;]{1,12}过敏|[^，,。；;无否认]{2,10}过敏史(?!\s*[:：])|皮试\s*(阳性|\(\+\)|（\+）)")
    if item in ("手术", "手术外伤", "外伤手术"):
        return re.compile(r"(\d{4}\s*年|\d+\s*余?\s*年前|\d+\s*余?\s*月前)[^。；;]{0,15}(行|在|于)[^。；;]{1,20}术(?!前|中)")
    if item == "输血":
        return re.compile(_WHEN + r"[^。；;]{0,15}(输血|输注[^，,。；;]{0,8}(红细胞|血浆|血小板|全血|冷沉淀))")
    if item == "外伤":
        return re.compile(_WHEN + r"[^。；;，,]{0,10}" + _INJURY)
    if item in ("吸烟", "饮酒"):
        # 每日饮白酒约250ml, 每天吸烟20支, 酒龄20年, 烟龄30年
        act = r"吸(?:香|卷)?烟" if item == "吸烟" else r"饮(?:白|啤|红|黄|米)?酒"
        age = "烟龄" if item == "吸烟" else "酒龄"
        return re.compile(e + r"(史)?\s*" + _N + r"\s*余?\s*年|" + e + r"\s*\d+\s*(支|两|ml|毫升)"
                          r"|每[日天晚][^，,。；;]{0,3}" + act + r"|" + act + r"[^，,。；;]{0,4}\d+\s*(支|两|斤|ml|毫升|g|克)"
                          r"|" + age + r"\s*" + _N + r"\s*余?\s*年")
    e = "(?:" + "|".join(map(re.escape, sorted(_SYNONYMS.get(item) or _SYNONYMS.get(item + "病") or (item,), key=len, reverse=True))) + ")"
    return re.compile(e + r"(病)?(病)?史\s*" + _N + r"\s*余?\s*(年|月)|" + e + r"(病)?\s*" + _N + r"\s*余?\s*年"
                      r"|(?:患有|既往有|既往患|既往|有)" + e
                      + r"|" + e + r"[^，,。；;否认无]{0,10}术后\s*" + _N + r"\s*余?\s*(年|月)"
                      r"|" + _N + r"\s*余?\s*(年|月)前[^，,。；;]{0,6}(?:确诊|诊断为?|发现|患)[^，,。；;]{0,4}?" + e + r"(病)?"
                      # 2019年因冠心病行PCI术, 3年前因脑梗死住院
                      r"|" + _WHEN + r"[^。；;，,]{0,6}因" + e + r"(病)?[^。；;，,]{0,4}(行|住院|入院|就诊|植入)")


def detect(ctx: Ctx, kb) -> list:
    text, out, done = ctx.text, [], set()
    items = list(_items(text))
    for item, ns, ne in items:
        if item in done:
            continue
        for m in _positive(item, kb).finditer(text):
            s, e = m.span()
            if ns <= s < ne or any(a <= s < b for _, a, b in items):
                continue
            cs, ce = short_clause(text, s)
            if FAMILY.search(text[cs:ce]) or _NEG_BEFORE.search(text[cs:s]) or ctx.section(s) == "家族史":
                continue
            done.add(item)
            out.append(finding(ctx.doc, "contradiction", s, e,
                               f"记录中既“否认{item}史”，又写有“{m.group()}”，前后矛盾，请核实",
                               RULE, 0.85, ctx.section(s)))
            break
    return out
