"""The tokenizer: a spaCy Doc whose words are slices of the ORIGINAL text, segmented by an owned
``jieba.Tokenizer`` on the normalised text (the process-global jieba is never touched)."""
from __future__ import annotations

import functools
import logging
import os
import tempfile
import threading
from typing import Iterable

from spacy.tokens import Doc
from spacy.vocab import Vocab

import nlp.doc  # noqa: F401
from nlp.normalize import normalize_text

log = logging.getLogger(__name__)

BLOCK_CACHE = 50_000           # remembered segmentations of word-character runs (a few MB)
USER_WORD_FREQ = 3000          # high enough that jieba keeps a dictionary term as one word

_jieba_lock = threading.Lock()


def build_jieba(user_words: Iterable[str] = (), *, cache_dir: str | None = None):
    """An owned jieba.Tokenizer with the default dictionary plus our medical words (loaded once)."""
    import jieba
    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.tmp_dir = cache_dir or os.path.join(tempfile.gettempdir(), "aew-jieba")
    os.makedirs(tok.tmp_dir, exist_ok=True)
    with _jieba_lock:
        tok.initialize()
    for w in user_words:
        if len(w) >= 2 and not w.isspace():
            tok.add_word(w, USER_WORD_FREQ)
    return tok


class JiebaTokenizer:
    """``text -> Doc``; fills ``doc._.norm`` and keeps lexicon hits (``extra_boundaries``) as token edges."""

    def __init__(self, vocab: Vocab, jieba_tokenizer, *,
                 lexicon=None, hmm: bool = False) -> None:
        self.vocab = vocab
        self.jieba = jieba_tokenizer
        self.lexicon = lexicon          # nlp.lexicon.Lexicon: its hits become token edges (and are kept on the Doc)
        # jieba's HMM guesses words missing from its dictionaries; off by default: tokens are only containers here
        # (entities come from the lexicon and the NER model), and without it segmentation is about twice as fast
        self.hmm = hmm
        # jieba segments each run of word characters (its re_han blocks) on its own, so a block's word lengths
        # can be remembered: notes repeat their template phrases (查体、诊疗经过、护理措施 …) all day long
        import jieba
        self._blocks = jieba.re_han_default
        self._block_cuts = functools.lru_cache(maxsize=BLOCK_CACHE)(self._cut_block)

    def _cut_block(self, block: str) -> tuple[int, ...]:
        return tuple(len(w) for w in self.jieba.cut(block, HMM=self.hmm))

    def clear_cache(self) -> None:
        """Forget remembered blocks (benchmarks time a cold tokenizer)."""
        self._block_cuts.cache_clear()

    def cut_points(self, norm: str) -> set[int]:
        """Word edges of jieba's segmentation of ``norm`` (the same as ``jieba.cut`` on the whole text)."""
        cuts = {0, len(norm)}
        pos = 0
        for block in self._blocks.split(norm):
            if not block:
                continue
            for n in self._block_cuts(block):
                pos += n
                cuts.add(pos)
        return cuts

    def __call__(self, text: str) -> Doc:
        norm = normalize_text(text)
        cuts = self.cut_points(norm)
        hits = self.lexicon.match(norm) if self.lexicon is not None else None
        if hits:
            for h in hits:
                cuts.add(h.start)
                cuts.add(h.end)
        edges = sorted(cuts)
        words = [text[a:b] for a, b in zip(edges, edges[1:]) if b > a]
        doc = Doc(self.vocab, words=words, spaces=[False] * len(words))
        doc._.norm = norm
        doc.user_data["aew_text"] = text
        if hits is not None:
            doc.user_data["aew_lexicon_hits"] = (norm, hits)
        return doc

    # spaCy calls these when a pipeline is saved; the tokenizer is rebuilt from data, so nothing to store.
    def to_bytes(self, **kwargs) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs) -> "JiebaTokenizer":
        return self
