"""The "hybrid" NER model: a transformers BertModel encoder (trained from scratch) fed with
character + bigram + lexicon features, a BiLSTM on top, and a linear-chain CRF output layer.

    inputs_embeds = char_emb(c_i) + W · [bigram_emb(c_{i-1}c_i); bigram_emb(c_i c_{i+1}); lexicon(i)]
    h = BiLSTM(BertModel(inputs_embeds))  →  emissions  →  CRF (BIO-constrained Viterbi at decode)

Lexicon features per character: for each entity type, whether the character Begins / is in the Middle of /
Ends / is a Single-character word of a mention of that type in the training annotations (7 × 4), and the
same B/M/E/S for the words of an untyped medical word list (THUOCL medical, MIT; 4). At training time the
mention lexicon of a document is built from the OTHER folds of the training set, so the model cannot learn
"every lexicon hit is an entity".

Files of such a model directory: config.json (a BertConfig with `ner_arch` = "hybrid" and the extra sizes),
model.safetensors (the whole module), vocab.json (characters), bigrams.json, lexicon.json (typed mention
words), thuocl_medical.txt (+ THUOCL_LICENSE.txt).
"""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import torch
from torch import nn

from nlp.ner.corpus import ENTITY_TYPES, LABELS
from nlp.ner.model import viterbi_decode

ARCH = "hybrid"
BIGRAM_FILE, LEXICON_FILE, THUOCL_FILE, THUOCL_LICENSE = (
    "bigrams.json", "lexicon.json", "thuocl_medical.txt", "THUOCL_LICENSE.txt")
HYBRID_FILES = ("config.json", "model.safetensors", "vocab.json", BIGRAM_FILE, LEXICON_FILE, THUOCL_FILE,
                THUOCL_LICENSE)
BOS, EOS = "\x02", "\x03"           # boundary marks in bigrams
BI_PAD, BI_UNK = 0, 1
N_TYPES = len(ENTITY_TYPES)
N_LEX = 4 * N_TYPES + 4             # typed B/M/E/S + untyped B/M/E/S
MAX_WORD = 25

THUOCL_LICENSE_TEXT = """\
thuocl_medical.txt is the word column of THUOCL_medical.txt from thunlp/THUOCL
(commit a30ce79d895d01ab5132a5c74c29703ff7efb4cc, data/THUOCL_medical.txt), words of 2+ characters, normalised.
THUOCL: 清华大学开放中文词库 (韩世依, 张钰晖, 马云山, 涂存超, 郭志芃, 刘知远, 孙茂松, 2016).

MIT License

Copyright (c) 2018 THUNLP

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


# --- features ------------------------------------------------------------------------------------------

def bigrams_of(text: str) -> list[tuple[str, str]]:
    """(left, right) bigram of each character: text[i-1:i+1] and text[i:i+2], with boundary marks."""
    padded = BOS + text + EOS
    return [(padded[i:i + 2], padded[i + 1:i + 3]) for i in range(len(text))]


def build_bigram_vocab(texts: list[str], min_count: int, max_size: int) -> dict[str, int]:
    counts = Counter(b for t in texts for pair in bigrams_of(t) for b in pair)
    grams = sorted((g for g, n in counts.items() if n >= min_count), key=lambda g: (-counts[g], g))[:max_size]
    return {"[PAD]": BI_PAD, "[UNK]": BI_UNK, **{g: i + 2 for i, g in enumerate(grams)}}


class Lexicon:
    """Typed mention words (word → type bitmask) and an untyped word set; B/M/E/S features per character."""

    def __init__(self, typed: dict[str, int], plain: set[str]):
        self.typed, self.plain = typed, plain
        self.lengths = sorted({len(w) for w in typed} | {len(w) for w in plain})

    @classmethod
    def from_mentions(cls, mentions: list[tuple[str, str]], plain: set[str]) -> "Lexicon":
        typed: dict[str, int] = {}
        for word, t in mentions:
            if 0 < len(word) <= MAX_WORD:
                typed[word] = typed.get(word, 0) | (1 << ENTITY_TYPES.index(t))
        return cls(typed, plain)

    def features(self, text: str) -> list[list[int]]:
        """N_LEX 0/1 features per character."""
        feats = [[0] * N_LEX for _ in text]
        n = len(text)
        for i in range(n):
            for length in self.lengths:
                if i + length > n:
                    break
                w = text[i:i + length]
                mask = self.typed.get(w, 0)
                slots = [4 * k for k in range(N_TYPES) if mask >> k & 1]
                if w in self.plain:
                    slots.append(4 * N_TYPES)
                for base in slots:
                    if length == 1:
                        feats[i][base + 3] = 1
                    else:
                        feats[i][base] = 1
                        feats[i + length - 1][base + 2] = 1
                        for j in range(i + 1, i + length - 1):
                            feats[j][base + 1] = 1
        return feats

    def save(self, directory: Path) -> None:
        by_word = {w: [ENTITY_TYPES[k] for k in range(N_TYPES) if m >> k & 1] for w, m in sorted(self.typed.items())}
        with open(directory / LEXICON_FILE, "w", encoding="utf-8") as fh:
            json.dump(by_word, fh, ensure_ascii=False, indent=0)
        (directory / THUOCL_FILE).write_text("".join(w + "\n" for w in sorted(self.plain)), encoding="utf-8")
        (directory / THUOCL_LICENSE).write_text(THUOCL_LICENSE_TEXT, encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "Lexicon":
        with open(directory / LEXICON_FILE, encoding="utf-8") as fh:
            by_word = json.load(fh)
        typed = {w: sum(1 << ENTITY_TYPES.index(t) for t in ts) for w, ts in by_word.items()}
        plain = set((directory / THUOCL_FILE).read_text(encoding="utf-8").split())
        return cls(typed, plain)


def read_thuocl(path: str | Path | None) -> set[str]:
    """Words (2..MAX_WORD characters, normalised) of a THUOCL `word<TAB>freq` file; empty set if no path."""
    from nlp.ner.normalize import normalize
    if not path or not Path(path).is_file():
        return set()
    words = set()
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        w = normalize(line.split("\t")[0].strip())
        if 2 <= len(w) <= MAX_WORD:
            words.add(w)
    return words


class Featurizer:
    """Text (normalised) → char ids, bigram ids (left, right) and lexicon features, per character."""

    def __init__(self, vocab: dict[str, int], bigrams: dict[str, int], lexicon: Lexicon):
        self.vocab, self.bigrams, self.lexicon = vocab, bigrams, lexicon

    def __call__(self, text: str, lexicon: Lexicon | None = None) -> dict[str, list]:
        from nlp.ner.model import encode
        bi = [(self.bigrams.get(a, BI_UNK), self.bigrams.get(b, BI_UNK)) for a, b in bigrams_of(text)]
        return {"ids": encode(text, self.vocab), "bi": bi, "lex": (lexicon or self.lexicon).features(text)}

    @staticmethod
    def slice(feats: dict[str, list], s: int, e: int) -> dict[str, list]:
        return {k: v[s:e] for k, v in feats.items()}

    def save(self, directory: Path) -> None:
        with open(directory / BIGRAM_FILE, "w", encoding="utf-8") as fh:
            json.dump(self.bigrams, fh, ensure_ascii=False, indent=0)
        self.lexicon.save(directory)

    @classmethod
    def load(cls, directory: Path, vocab: dict[str, int]) -> "Featurizer":
        with open(directory / BIGRAM_FILE, encoding="utf-8") as fh:
            bigrams = json.load(fh)
        return cls(vocab, bigrams, Lexicon.load(directory))


def collate(rows: list[dict[str, list]]) -> dict[str, torch.Tensor]:
    """Pad a batch of feature dicts; `mask` marks real characters."""
    width = max(len(r["ids"]) for r in rows)
    b = len(rows)
    ids = torch.zeros(b, width, dtype=torch.long)
    bi = torch.zeros(b, width, 2, dtype=torch.long)
    lex = torch.zeros(b, width, N_LEX)
    mask = torch.zeros(b, width, dtype=torch.long)
    for k, r in enumerate(rows):
        n = len(r["ids"])
        if n == 0:
            continue
        ids[k, :n] = torch.tensor(r["ids"])
        bi[k, :n] = torch.tensor(r["bi"])
        lex[k, :n] = torch.tensor(r["lex"], dtype=torch.float)
        mask[k, :n] = 1
    return {"ids": ids, "bi": bi, "lex": lex, "mask": mask}


# --- the network ---------------------------------------------------------------------------------------

def hybrid_config(vocab_size: int, n_bigrams: int, *, hidden: int, layers: int, heads: int, intermediate: int,
                  max_len: int, dropout: float, bigram_dim: int, lstm_hidden: int):
    from nlp.ner.model import build_config
    config = build_config(vocab_size, hidden=hidden, layers=layers, heads=heads, intermediate=intermediate,
                          max_len=max_len, dropout=dropout)
    config.ner_arch = ARCH
    config.bigram_vocab_size = n_bigrams
    config.bigram_dim = bigram_dim
    config.lexicon_features = N_LEX
    config.lstm_hidden = lstm_hidden
    config.architectures = ["HybridNer"]
    return config


class CRF(nn.Module):
    """Linear-chain CRF: transition, start and end scores; NLL training and BIO-constrained Viterbi."""

    def __init__(self, n: int):
        super().__init__()
        self.trans = nn.Parameter(torch.zeros(n, n))     # [previous, next]
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))

    def nll(self, em: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood; em [B, L, C], tags [B, L] (any value where mask is 0), mask [B, L]."""
        m = mask.bool()
        tags = tags.masked_fill(~m, 0)
        bidx = torch.arange(em.shape[0])
        # gold path score
        score = self.start[tags[:, 0]] + em[bidx, 0, tags[:, 0]]
        for i in range(1, em.shape[1]):
            step = self.trans[tags[:, i - 1], tags[:, i]] + em[bidx, i, tags[:, i]]
            score = score + step * m[:, i]
        lengths = m.sum(1)
        last = tags[bidx, (lengths - 1).clamp(min=0)]
        score = score + self.end[last]
        # partition function
        alpha = self.start + em[:, 0]
        for i in range(1, em.shape[1]):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.trans.unsqueeze(0), dim=1) + em[:, i]
            alpha = torch.where(m[:, i:i + 1], nxt, alpha)
        log_z = torch.logsumexp(alpha + self.end, dim=1)
        return (log_z - score).mean()

    def decode(self, em: torch.Tensor, lengths: list[int]) -> list[list[int]]:
        return viterbi_decode(em, lengths, trans=self.trans, start=self.start, end=self.end, neg=-1e4)


class HybridNer(nn.Module):
    """BertModel (from transformers, random init) over char+bigram+lexicon embeddings → BiLSTM → CRF."""

    def __init__(self, config):
        super().__init__()
        from transformers import BertModel
        self.config = config
        self.bert = BertModel(config, add_pooling_layer=False)
        self.bigram = nn.Embedding(config.bigram_vocab_size, config.bigram_dim, padding_idx=BI_PAD)
        self.extra = nn.Linear(2 * config.bigram_dim + config.lexicon_features, config.hidden_size)
        self.drop = nn.Dropout(config.hidden_dropout_prob)
        self.lstm = nn.LSTM(config.hidden_size, config.lstm_hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * config.lstm_hidden, len(LABELS))
        self.crf = CRF(len(LABELS))
        nn.init.normal_(self.bigram.weight, std=0.1)

    def emissions(self, ids, bi, lex, mask) -> torch.Tensor:
        char = self.bert.embeddings.word_embeddings(ids)
        b = self.bigram(bi).flatten(2)                       # [B, L, 2*D]
        x = char + self.extra(torch.cat([b, lex], dim=-1))
        h = self.bert(inputs_embeds=x, attention_mask=mask).last_hidden_state
        h, _ = self.lstm(self.drop(h))
        return self.out(self.drop(h))

    def loss(self, batch: dict[str, torch.Tensor], tags: torch.Tensor) -> torch.Tensor:
        em = self.emissions(batch["ids"], batch["bi"], batch["lex"], batch["mask"])
        return self.crf.nll(em, tags, batch["mask"])

    def decode(self, batch: dict[str, torch.Tensor], lengths: list[int]) -> list[list[int]]:
        em = self.emissions(batch["ids"], batch["bi"], batch["lex"], batch["mask"]).float()
        return self.crf.decode(em, lengths)

    def save(self, directory: Path) -> None:
        from safetensors.torch import save_file
        directory.mkdir(parents=True, exist_ok=True)
        self.config.to_json_file(str(directory / "config.json"))
        state = {k: v.detach().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt", "ner_arch": ARCH})

    @classmethod
    def load(cls, directory: Path) -> "HybridNer":
        from safetensors.torch import load_file
        from transformers import BertConfig
        config = BertConfig.from_json_file(str(directory / "config.json"))
        model = cls(config)
        model.load_state_dict(load_file(str(directory / "model.safetensors")))
        return model.eval()


def is_hybrid(directory: Path) -> bool:
    try:
        with open(directory / "config.json", encoding="utf-8") as fh:
            return json.load(fh).get("ner_arch") == ARCH
    except (OSError, ValueError):
        return False
