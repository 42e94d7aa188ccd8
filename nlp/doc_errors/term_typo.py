"""term_typo: misspelt medical terms (心率失常→心律失常, 头胞曲松→头孢曲松, 兰尾炎→阑尾炎, 呼吸衰揭→呼吸衰竭).

Candidate generation is lexicon driven: every known term is indexed with one character masked; a stretch of
text that is not itself a word but matches a term with one character replaced by a homophone (pypinyin,
tones ignored) or a shape-alike character (shape_confusion.tsv) is a candidate. The check against the
general word list of jieba (word frequencies) keeps correct text from being flagged: a stretch that is a
known word, or whose replaced character forms a frequent word with its neighbours in a way the term does
not, is left alone.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from ._common import Ctx, finding

RULE = "doc.term_typo.v1"
MIN_LEN, MAX_LEN = 3, 10
_MED_SUFFIX = re.compile(r"(炎|症|病|癌|瘤|衰竭|综合征|梗死|梗塞|出血|血症|失常|结石|骨折|囊肿|溃疡|硬化|感染|狭窄|积液|"
                         r"穿孔|梗阻|增生|不全|麻痹|痉挛|水肿|坏死|切除术|置换术|修补术|成形术|造影|穿刺术|引流术|"
                         r"霉素|西林|沙星|头孢|唑|胺|酮|素)$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# characters that end one disease name as legitimately as another (腮腺癌/腮腺炎), or are both correct (肥厚型/性)
_INTERCHANGEABLE = [set("炎癌瘤病症"), set("型性"), set("症征"), set("塞死"), set("置植"), set("黏粘"), set("返反"),
                    set("胺氨"), set("份分"), set("瓣办")]
# function characters: a window that starts or ends with one of them is a phrase boundary, not a typo
_FUNCTION = set("的地得了着是有无非在和与及或不未其为之也都就而且并对把被从向于以由这那个些每各该本示见至行予给经因后前")


@functools.lru_cache(maxsize=1)
def _general_words() -> dict[str, int]:
    """jieba's own word list (word -> frequency), read once from the installed package."""
    import jieba
    words: dict[str, int] = {}
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as f:
        for line in f:
            parts = line.split(" ")
            if len(parts) >= 2:
                words[parts[0]] = int(parts[1])
    return words


@functools.lru_cache(maxsize=20000)
def _pinyins(ch: str) -> frozenset:
    from pypinyin import Style, pinyin
    return frozenset(pinyin(ch, style=Style.NORMAL, heteronym=True)[0])


@functools.lru_cache(maxsize=20000)
def _primary(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin
    return lazy_pinyin(ch, style=Style.NORMAL)[0]


@functools.lru_cache(maxsize=20000)
def _fuzzy(py: str) -> str:
    """Pinyin as Chinese input methods confuse it: zh/z, ch/c, sh/s, n/l, -ng/-n, ü/u (氯 lv / 录 lu)."""
    py = py.replace("v", "u")
    py = re.sub(r"^(zh|ch|sh)", lambda m: m.group(1)[0], py)
    py = re.sub(r"^n", "l", py)
    return re.sub(r"ng$", "n", py)


def confusable(a: str, b: str, shape_pairs, fuzzy: bool = False) -> bool:
    if (a, b) in shape_pairs:
        return True
    if not (_CJK.match(a) and _CJK.match(b)):
        return False
    pa, pb = _primary(a), _primary(b)        # the usual reading: rare readings (泵 liù) confuse nobody
    return pa == pb or (fuzzy and _fuzzy(pa) == _fuzzy(pb))


def _index(kb):
    idx = kb.cache.get("typo_anchors")
    if idx is not None:
        return idx
    import ahocorasick
    general = _general_words()
    terms = {t for t in kb.typo_terms if len(t) >= MIN_LEN}
    terms |= {n for n in kb.drugs if len(n) >= MIN_LEN}                       # generic names
    terms |= {n for n in kb.drug_names if len(n) >= 4 and _CJK.search(n)}    # brand names and salts, 4+ chars
    terms |= {w for w, f in general.items() if MIN_LEN <= len(w) <= MAX_LEN and f >= 3 and _MED_SUFFIX.search(w)
              and all(_CJK.match(c) for c in w)}
    # a term with its character i replaced still contains its longer intact side word for word: that side is
    # the anchor an Aho-Corasick automaton finds in one pass; the window around each hit is then checked.
    # Only a three-character term masked in the middle has no intact side of two or more characters: those are
    # looked up by their outer characters.
    anchored: dict[str, list] = {}
    gapped: dict[str, list] = {}
    for t in sorted(terms):
        if not all(_CJK.match(c) for c in t):
            continue
        L = len(t)
        for i in range(L):
            left, right = t[:i], t[i + 1:]
            if max(len(left), len(right)) < 2:
                gapped.setdefault(t[0] + t[2], []).append((t, i))
            elif len(left) >= len(right):
                anchored.setdefault(left, []).append((t, i, 0))
            else:
                anchored.setdefault(right, []).append((t, i, i + 1))
    automaton = ahocorasick.Automaton()
    for key, entries in anchored.items():
        automaton.add_word(key, (len(key), tuple(entries)))
    automaton.make_automaton()
    vocab = set(general) | terms | set(kb.typo_terms)      # short words too: they mark phrase boundaries
    idx = kb.cache["typo_anchors"] = (automaton, gapped, vocab)
    return idx


def _two_char_index(kb) -> dict:
    """Two-character terms of typo_terms.txt (偏瘫, 房颤) by each character that stays: (position, char) -> terms."""
    idx = kb.cache.get("typo_two")
    if idx is None:
        idx = {}
        for t in kb.typo_terms:
            if len(t) == 2 and all(_CJK.match(c) for c in t):
                idx.setdefault((1, t[1]), []).append((0, t))
                idx.setdefault((0, t[0]), []).append((1, t))
        kb.cache["typo_two"] = idx
    return idx


# a two-character item standing alone between punctuation (诊断：…后遗症，偏摊。): short words are checked only there
_ALONE2 = re.compile(r"(?:(?<=^)|(?<=[，,。；;：:、\s（(]))([\u4e00-\u9fff]{2})(?=$|[，,。；;、\s）)])")


def _two_char(text: str, kb, vocab):
    idx = _two_char_index(kb)
    for m in _ALONE2.finditer(text):
        w = m.group(1)
        if w in vocab:
            continue
        for keep in (0, 1):
            for i, term in idx.get((keep, w[keep]), ()):
                if w[i] != term[i] and confusable(w[i], term[i], kb.shape_pairs) \
                        and not any(w[i] in g and term[i] in g for g in _INTERCHANGEABLE):
                    yield m.start(1), m.end(1), w, term
                    break
            else:
                continue
            break


def _inside_word(text: str, s: int, e: int, vocab) -> bool:
    """The stretch is part of a longer known word (乙型肝炎 around 型肝炎)."""
    for k in range(0, 3):
        for j in range(0, 3):
            if (k or j) and s - k >= 0 and e + j <= len(text) and text[s - k:e + j] in vocab:
                return True
    return False


# a dosage form written after a drug name (二甲双瓜片): 瓜片 is a word, but 片 belongs to the drug
_FORMS = set("片丸粒剂液针膏栓贴散")


def _crosses_word(text: str, s: int, e: int, vocab) -> bool:
    """A known word runs across the start or the end of the stretch (结合病|史, 间|质肿瘤): a phrase boundary."""
    for k in (2, 3):
        if e - 1 + k <= len(text) and text[e - 1:e - 1 + k] in vocab and text[e:e + 1] not in _FORMS:
            return True
        if s + 1 - k >= 0 and text[s + 1 - k:s + 1] in vocab:
            return True
    return False


def _matches(text: str, automaton, gapped) -> dict[tuple[int, int], list]:
    """(start, length) of each window that equals a term except for one character -> [(i, term), ...]."""
    n = len(text)
    out: dict[tuple[int, int], list] = {}
    if n < MIN_LEN:
        return out
    for last, (m, entries) in automaton.iter(text):
        q = last - m + 1                                   # where the anchor starts in the text
        for t, i, off in entries:
            p, L = q - off, len(t)
            if p < 0 or p + L > n or text[p + i] == t[i]:
                continue
            # the anchor is one intact side; the other side must be intact too
            if (off == 0 and text[p + i + 1:p + L] == t[i + 1:]) or (off and text[p:p + i] == t[:i]):
                out.setdefault((p, L), []).append((i, t))
    for p in range(n - 2):
        hits = gapped.get(text[p] + text[p + 2])
        if hits:
            for t, i in hits:
                if text[p + 1] != t[1]:
                    out.setdefault((p, 3), []).append((i, t))
    return out


def candidates(text: str, kb):
    """(start, end, written, correct) for each suspected misspelling, longest first, not overlapping."""
    automaton, gapped, vocab = _index(kb)
    general = _general_words()
    found = []
    n = len(text)
    for (p, L), hits in sorted(_matches(text, automaton, gapped).items(), key=lambda kv: (-kv[0][1], kv[0][0])):
        w = text[p:p + L]
        if w in vocab or not _CJK.match(w[0]) or not _CJK.match(w[-1]):
            continue
        for i, term in sorted(hits):
            a, b = w[i], term[i]
            if not confusable(a, b, kb.shape_pairs, fuzzy=L >= 4):
                continue
            if any(a in g and b in g for g in _INTERCHANGEABLE) or (i == 0 and a in _FUNCTION):
                continue
            if i == L - 1 and a in _FUNCTION and _CJK.match(text[p + L:p + L + 1] or " "):
                continue        # 胆囊结石并胆囊炎: a conjunction before more words, not 结石病
            if _inside_word(text, p, p + L, vocab) or _crosses_word(text, p, p + L, vocab):
                break
            # a correct phrase that only looks like a term: the written character belongs to a word
            # that reaches outside the term (…病毒性肝炎 vs 病毒性干…) — the text around decides
            left, right = text[max(0, p + i - 1):p + i + 1], text[p + i:p + i + 2]
            if (i == 0 and general.get(left, 0) > 50 and p > 0) or \
                    (i == L - 1 and general.get(right, 0) > 50 and p + L < n):
                continue
            found.append((p, p + L, w, term))
            break
    found.extend(_two_char(text, kb, vocab))
    found.sort(key=lambda x: (-(x[1] - x[0]), x[0]))
    out = []
    for f in found:
        if not any(f[0] < g[1] and g[0] < f[1] for g in out):
            out.append(f)
    return sorted(out)


def detect(ctx: Ctx, kb) -> list:
    return [finding(ctx.doc, "term_typo", s, e, f"“{w}”疑为“{term}”的错别字", RULE, 0.7, ctx.section(s))
            for s, e, w, term in candidates(ctx.text, kb)]
