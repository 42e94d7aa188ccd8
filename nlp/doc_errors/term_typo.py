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


def _fuzzy(py: str) -> str:
    """Pinyin as Chinese input methods confuse it: zh/z, ch/c, sh/s, n/l, -ng/-n."""
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
    idx = kb.cache.get("typo_index")
    if idx is not None:
        return idx
    general = _general_words()
    terms = {t for t in kb.typo_terms if len(t) >= MIN_LEN}
    terms |= {n for n in kb.drugs if len(n) >= MIN_LEN}                       # generic names
    terms |= {n for n in kb.drug_names if len(n) >= 4 and _CJK.search(n)}    # brand names and salts, 4+ chars
    terms |= {w for w, f in general.items() if MIN_LEN <= len(w) <= MAX_LEN and f >= 3 and _MED_SUFFIX.search(w)
              and all(_CJK.match(c) for c in w)}
    masked: dict[str, list] = {}
    for t in terms:
        if not all(_CJK.match(c) for c in t):
            continue
        for i in range(len(t)):
            masked.setdefault(t[:i] + "?" + t[i + 1:], []).append((t, i))
    vocab = set(general) | terms | set(kb.typo_terms)      # short words too: they mark phrase boundaries
    bigrams = {t[i:i + 2] for t in terms for i in range(len(t) - 1)}
    idx = kb.cache["typo_index"] = (masked, vocab, {len(t) for t in terms}, bigrams)
    return idx


def _inside_word(text: str, s: int, e: int, vocab) -> bool:
    """The stretch is part of a longer known word (乙型肝炎 around 型肝炎)."""
    for k in range(0, 3):
        for j in range(0, 3):
            if (k or j) and s - k >= 0 and e + j <= len(text) and text[s - k:e + j] in vocab:
                return True
    return False


def _crosses_word(text: str, s: int, e: int, vocab) -> bool:
    """A known word runs across the start or the end of the stretch (结合病|史, 间|质肿瘤): a phrase boundary."""
    for k in (2, 3):
        if e - 1 + k <= len(text) and text[e - 1:e - 1 + k] in vocab:
            return True
        if s + 1 - k >= 0 and text[s + 1 - k:s + 1] in vocab:
            return True
    return False


def candidates(text: str, kb):
    """(start, end, written, correct) for each suspected misspelling, longest first, not overlapping."""
    masked, vocab, lengths, bigrams = _index(kb)
    general = _general_words()
    found = []
    n = len(text)
    # a term with one character replaced keeps every bigram that does not touch that character:
    # windows with more than two bigrams foreign to all terms cannot be one, and the foreign ones fix i
    bad = [0 if text[j:j + 2] in bigrams else 1 for j in range(max(0, n - 1))]
    acc = [0]
    for x in bad:
        acc.append(acc[-1] + x)
    for L in sorted(lengths, reverse=True):
        for p in range(0, n - L + 1):
            nbad = acc[p + L - 1] - acc[p]
            if nbad > 2:
                continue
            if nbad:
                allowed = None
                for j in range(p, p + L - 1):
                    if bad[j]:
                        opts = {j - p, j - p + 1}
                        allowed = opts if allowed is None else allowed & opts
                if not allowed:
                    continue
                positions = sorted(allowed)
            else:
                positions = range(L)
            w = text[p:p + L]
            if w in vocab or not _CJK.match(w[0]) or not _CJK.match(w[-1]):
                continue
            for i in positions:
                hits = masked.get(w[:i] + "?" + w[i + 1:])
                if not hits:
                    continue
                for term, j in hits:
                    a, b = w[i], term[i]
                    if a == b or not confusable(a, b, kb.shape_pairs, fuzzy=L >= 4):
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
                else:
                    continue
                break
    found.sort(key=lambda x: (-(x[1] - x[0]), x[0]))
    out = []
    for f in found:
        if not any(f[0] < g[1] and g[0] < f[1] for g in out):
            out.append(f)
    return sorted(out)


def detect(ctx: Ctx, kb) -> list:
    return [finding(ctx.doc, "term_typo", s, e, f"“{w}”疑为“{term}”的错别字", RULE, 0.7, ctx.section(s))
            for s, e, w, term in candidates(ctx.text, kb)]
