"""implausible_lab: lab values outside the physiologically possible range (血钠 1380mmol/L)."""
from . import _measures


def detect(ctx, kb) -> list:
    return _measures.detect(ctx, kb, "lab")
