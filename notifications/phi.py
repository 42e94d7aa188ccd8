"""PHI masking for everything that leaves the hospital in a DingTalk message.

Messages are built from allow-listed fields only (event number, category label, severity, department/ward, bed,
time, link, masked patient name) — never note text. Every free-text field that came from the EMR (department,
bed) is scrubbed as well, in case a source system put an identifier there."""
from __future__ import annotations

import re

# 18-digit resident ID (last char may be X), old 15-digit IDs, mobile numbers, landlines, long digit runs
# (medical record / insurance numbers). Longest patterns first.
_ID18 = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_ID15 = re.compile(r"(?<!\d)\d{15}(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}[- ]?\d{7,8}(?!\d)")
_LONG_DIGITS = re.compile(r"(?<!\d)\d{9,}(?!\d)")


def mask_name(name: str | None) -> str | None:
    """张三 → 张*, 欧阳娜娜 → 欧*: the surname's first character and one star (the length is hidden too)."""
    if not name or not name.strip():
        return None
    return name.strip()[0] + "*"


def scrub(text: str | None, max_len: int = 64) -> str:
    """Remove ID numbers, phone numbers and long digit runs from a short free-text field."""
    if not text:
        return ""
    out = _ID18.sub("[已隐藏]", str(text))
    out = _ID15.sub("[已隐藏]", out)
    out = _MOBILE.sub("[已隐藏]", out)
    out = _LANDLINE.sub("[已隐藏]", out)
    out = _LONG_DIGITS.sub("[已隐藏]", out)
    out = out.replace("\n", " ").replace("\r", " ")
    return out[:max_len]


def markdown_safe(text: str) -> str:
    """Keep EMR text from turning into links or headings inside a markdown message."""
    return re.sub(r"([\[\]()#*_`>|])", r"\\\1", text)
