"""implausible_vital: vital signs outside the physiologically possible range (T 3.65℃, BP 1200/80mmHg)."""
from . import _measures


def detect(ctx, kb) -> list:
    return _measures.detect(ctx, kb, "vital")
