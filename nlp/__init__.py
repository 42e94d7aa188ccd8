"""Pure text in, findings out: the adverse-event and documentation-error scanner. No database, no HTTP."""
from nlp.types import Entity, Finding, InputError, NoteInput, PatientInfo, ScanResult, Suppressed

__all__ = ["Entity", "Finding", "InputError", "NoteInput", "PatientInfo", "ScanResult", "Suppressed", "Scanner"]


def __getattr__(name):  # lazy: importing nlp must not load spaCy, jieba or torch
    if name == "Scanner":
        from nlp.scanner import Scanner
        return Scanner
    raise AttributeError(name)
