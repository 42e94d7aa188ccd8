"""Builds the spaCy pipeline from a data directory, and the two components that wrap other packages:
the transformer NER (``nlp.ner``) and the documentation-error detectors (``nlp.doc_errors``)."""
from __future__ import annotations

import logging
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from nlp.types import Entity

from nlp import adr_knowledge  # registers aew_adr_knowledge
import nlp.context  # noqa: F401  (registers the factories)
from nlp.doc import doc_text, sentence_bounds
import nlp.events  # noqa: F401
import nlp.events.frames  # noqa: F401  (registers aew_event_frames)
import nlp.lexicon  # noqa: F401
import nlp.normalize  # noqa: F401
import nlp.sections  # noqa: F401
import nlp.sentences  # noqa: F401
from nlp.lexicon import read_word_list
from nlp.tokenize import JiebaTokenizer, build_jieba

log = logging.getLogger(__name__)
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"


def data_paths(data_dir: Path) -> dict[str, Path]:
    return {"lexicons": data_dir / "lexicons", "sections": data_dir / "rules" / "sections.yaml",
            "context": data_dir / "rules" / "context.yaml", "events": data_dir / "rules" / "events",
            "severity": data_dir / "rules" / "severity.yaml", "taxonomy": data_dir / "taxonomy.yaml",
            "ner": data_dir / "models" / "ner-zh", "classifier": data_dir / "models" / "event-clf",
            "jieba_words": data_dir / "lexicons" / "thuocl_medical_words.txt"}


def check_data_dir(data_dir: Path) -> dict[str, Path]:
    paths = data_paths(data_dir)
    for key in ("lexicons", "sections", "context", "events", "severity", "taxonomy"):
        if not paths[key].exists():
            raise FileNotFoundError(f"missing scanner data file: {paths[key]}")
    return paths


def build_pipeline(data_dir: str | Path | None = None, *, use_ner_model: bool = True,
                   use_classifier: bool = True, doc_errors: bool = True) -> Language:
    """A blank ``zh`` Language with our tokenizer and components, every resource loaded once."""
    data_dir = Path(data_dir) if data_dir else DEFAULT_DATA_DIR
    p = check_data_dir(data_dir)
    nlp = spacy.blank("zh")
    nlp.add_pipe("aew_normalize")
    nlp.add_pipe("aew_sections", config={"rules_path": str(p["sections"])})
    nlp.add_pipe("aew_sentences")
    lex = nlp.add_pipe("aew_lexicon", config={"lexicon_dir": str(p["lexicons"])})
    nlp.add_pipe("aew_event_candidates", config={"rules_dir": str(p["events"]), "taxonomy_path": str(p["taxonomy"])})
    if use_classifier:
        # the model proposes candidates of its own and re-scores the rules'; the context rules judge both
        if (p["classifier"] / "manifest.json").exists():
            from nlp import classifier  # noqa: F401  (registers aew_event_classifier)
            nlp.add_pipe("aew_event_classifier", config={"model_dir": str(p["classifier"])})
        else:
            log.warning("event classifier not found in %s: rules only", p["classifier"])
    nlp.add_pipe("aew_context", config={"rules_path": str(p["context"]), "sections_path": str(p["sections"])})
    nlp.add_pipe("aew_events", config={"rules_dir": str(p["events"]), "taxonomy_path": str(p["taxonomy"]),
                                       "severity_path": str(p["severity"]), "sections_path": str(p["sections"])})
    if doc_errors:
        nlp.add_pipe("aew_doc_errors", config={"data_dir": str(data_dir)})
        # frames over the checks' knowledge: a drug given despite a recorded allergy is a medication error
        nlp.add_pipe("aew_event_frames", config={"classes_dir": str(data_dir / "rules" / "classes")})
    # explains adverse-drug-reaction findings with the drug's known reactions (changes explanations only)
    if (data_dir / "knowledge" / adr_knowledge.TABLE).exists():
        nlp.add_pipe("aew_adr_knowledge", config={"data_dir": str(data_dir)})
    else:
        log.warning("%s not found: adverse-reaction findings are not explained", adr_knowledge.TABLE)
    if use_ner_model:
        # after the detectors: the model tags the sentences that hold a finding (the drug of a reaction, the
        # site of an injury) instead of every character of every note, which would cost most of the scan time
        if (p["ner"] / "manifest.json").exists() or any(p["ner"].glob("*.safetensors")):
            nlp.add_pipe("aew_ner_model", config={"model_dir": str(p["ner"])})
        else:
            log.warning("NER model not found in %s: using lexicon entities only", p["ner"])
    words = list(lex.lexicon.words())
    if p["jieba_words"].exists():
        words += read_word_list(p["jieba_words"])
    nlp.tokenizer = JiebaTokenizer(nlp.vocab, build_jieba(words), lexicon=lex.lexicon)
    return nlp


@Language.factory("aew_ner_model", default_config={"model_dir": "", "batch_size": 16})
def make_ner_model(nlp: Language, name: str, model_dir: str, batch_size: int) -> "NerModelEntities":
    """Entities from the transformer NER (nlp.ner.NerTagger), added where the lexicon has none.
    ``model_dir``: data/models/ner-zh; ``batch_size``: texts per forward pass."""
    return NerModelEntities(model_dir, batch_size=batch_size)


class NerModelEntities:
    def __init__(self, model_dir: str, *, batch_size: int = 16) -> None:
        from nlp.ner import NerTagger
        self.tagger = NerTagger.load(model_dir)
        self.batch_size = batch_size

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs, batch_size: int = 32):
        """Tag, in each doc, the sentences that hold a finding, then attach their entities to the findings."""
        batch = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._tag_findings(batch)
                batch = []
        if batch:
            yield from self._tag_findings(batch)

    def tag_all(self, doc: Doc) -> Doc:
        """Tag the whole text (`Scanner.entities`, `aew ner`)."""
        self._merge(doc, self.tagger.predict([doc_text(doc)], batch_size=self.batch_size)[0])
        return doc

    def _tag_findings(self, docs: list[Doc]):
        pieces = []                                  # (doc index, sentence start, sentence text)
        for i, doc in enumerate(docs):
            bounds = {sentence_bounds(doc, f.start, f.end) for f in (doc._.findings or [])}
            pieces.extend((i, a, doc_text(doc)[a:b]) for a, b in sorted(bounds) if b > a)
        preds = self.tagger.predict([t for _, _, t in pieces], batch_size=self.batch_size) if pieces else []
        found: list[list] = [[] for _ in docs]
        for (i, offset, _), ents in zip(pieces, preds):
            found[i].extend(Entity(e.start + offset, e.end + offset, e.type, e.text, source="model") for e in ents)
        for doc, ents in zip(docs, found):
            self._merge(doc, ents)
            _attach_entities(doc)
            yield doc

    def _merge(self, doc: Doc, ents) -> None:
        """Merge model entities into the lexicon's.

        The lexicon wins on its own hits, with one exception: a longer model entity that covers lexicon hits
        whole (泰素帝 over the lexicon's 泰素, 注射用头孢曲松钠 over 头孢曲松) replaces them — the longest match, as
        the lexicon itself does. It does not inherit the covered hit's attributes: the longer name may be another
        drug (泰素帝 is docetaxel, 泰素 paclitaxel). The model adds what the lexicon lacks. On cEHRNER (strict micro-F1 of the merged entities) this scores
        dev 0.705 / test 0.741 where "the lexicon always wins" scored 0.571 / 0.578 (the model alone: 0.787 / 0.847)."""
        spans = list(doc.spans["entities"]) if "entities" in doc.spans else []
        bounds = [((s._.attrs or {}).get("start", s.start_char), (s._.attrs or {}).get("end", s.end_char))
                  for s in spans]
        dropped: set[int] = set()
        added = []
        for e in ents:
            touched = [i for i, (a, b) in enumerate(bounds) if a < e.end and e.start < b]
            if any(not (e.start <= bounds[i][0] and bounds[i][1] <= e.end
                        and bounds[i][1] - bounds[i][0] < e.end - e.start) for i in touched):
                continue                       # a lexicon hit the model entity does not cover whole: the lexicon wins
            span = doc.char_span(e.start, e.end, label=e.type, alignment_mode="expand")
            if span is None:
                continue
            span._.source = "model"
            span._.attrs = {"start": e.start, "end": e.end}
            dropped.update(touched)
            added.append(span)
        kept = [s for i, s in enumerate(spans) if i not in dropped]
        doc.spans["entities"] = sorted(kept + added, key=lambda s: s.start_char)


def _attach_entities(doc: Doc) -> None:
    """Give each finding the entities of its sentence: what a quality manager looks for first."""
    spans = list(doc.spans["entities"]) if "entities" in doc.spans else []
    for f in doc._.findings or []:
        a, b = sentence_bounds(doc, f.start, f.end)
        ents = []
        for s in spans:
            at = s._.attrs or {}
            s0, s1 = at.get("start", s.start_char), at.get("end", s.end_char)
            if a <= s0 and s1 <= b:
                ents.append({"type": s.label_, "text": doc_text(doc)[s0:s1], "start": s0, "end": s1,
                             "source": s._.source})
        f.entities = ents


@Language.factory("aew_doc_errors", default_config={"data_dir": ""})
def make_doc_errors(nlp: Language, name: str, data_dir: str) -> "DocErrorStep":
    """Documentation-error findings from ``nlp.doc_errors.detect`` (skipped when that package is absent)."""
    return DocErrorStep(data_dir or None)


class DocErrorStep:
    def __init__(self, data_dir: str | None) -> None:
        self.data_dir = data_dir
        try:
            from nlp.doc_errors import detect
        except ImportError as e:  # the package is another issue's work; the scanner runs without it
            log.warning("documentation-error detectors unavailable (%s): skipped", e)
            detect = None
        self.detect = detect

    def __call__(self, doc: Doc) -> Doc:
        if doc._.findings is None:
            doc._.findings = []
        if self.detect is not None:
            doc._.findings.extend(self.detect(doc, self.data_dir))
        return doc
