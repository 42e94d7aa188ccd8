"""Shared fixtures of the NLP tests. The whole-pipeline tests use the session-scoped ``scanner`` fixture of
tests/conftest.py (one Scanner per test session); the component tests below build Docs by hand."""
from __future__ import annotations

from pathlib import Path

import pytest
from spacy.tokens import Doc
from spacy.vocab import Vocab

import nlp.doc  # noqa: F401
from nlp.normalize import normalize_text
from nlp.types import NoteInput

DATA = Path(__file__).resolve().parents[2] / "data"
TEST_DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def vocab() -> Vocab:
    return Vocab()


@pytest.fixture
def make_doc(vocab):
    """A Doc built by hand: one token per character, ``doc._.norm`` and ``doc._.note`` filled."""
    def make(text: str, note_type: str | None = "护理记录") -> Doc:
        doc = Doc(vocab, words=list(text), spaces=[False] * len(text))
        doc._.norm = normalize_text(text)
        doc._.note = NoteInput(id="t", text=text, note_type=note_type)
        doc._.findings, doc._.suppressed = [], []
        return doc
    return make


@pytest.fixture(scope="session")
def context_rules(data_dir):
    from nlp.context import ContextRules
    from nlp.sections import load_section_rules
    return ContextRules(data_dir / "rules" / "context.yaml", load_section_rules(data_dir / "rules" / "sections.yaml"))


@pytest.fixture(scope="session")
def event_rules(data_dir):
    from nlp.events import load_event_rules
    from nlp.events.checks import CHECKS
    return load_event_rules(data_dir / "rules" / "events", data_dir / "taxonomy.yaml", set(CHECKS))
