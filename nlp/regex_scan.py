"""Regular expressions tried only where a match can start.

Python's ``re`` scans quickly for a pattern that starts with a literal, but a pattern that starts with a group of
alternatives (``(?P<ev>(摔|跌)(在|于)|跌倒|…)``) or a look-behind (``(?<![a-z])(?:alt|gpt)``) is tried at every
character. ``lead_class`` works out the characters a match can start with; ``lead_finditer`` finds those with
one fast character-class scan and tries the pattern only there. The matches are the same, in the same order:
a match can only start at a lead character, and the scan resumes where the last match ended.
"""
from __future__ import annotations

import re
from typing import Iterable


def lead_class(rx: re.Pattern) -> re.Pattern | None:
    """A character class of the characters a non-empty match of ``rx`` can start with; None when re scans for
    the start fast by itself, or when the first characters are not (a leading ``.``, a negated class or category, an optional pattern). With IGNORECASE
    the class ignores case too."""
    try:
        from re import _constants as C, _parser as P
    except ImportError:                     # the parser's module moved: fall back to plain scanning
        return None

    def first(seq) -> tuple[set[str], bool] | None:
        """(first characters, nullable) of a sequence of parsed items."""
        out: set[str] = set()
        for op, av in seq:
            if op is C.LITERAL:
                out.add(chr(av))
                return out, False
            if op is C.IN:
                chars = set()
                for kind, val in av:
                    if kind is C.LITERAL:
                        chars.add(chr(val))
                    elif kind is C.RANGE and val[1] - val[0] <= 256:
                        chars.update(chr(x) for x in range(val[0], val[1] + 1))
                    else:
                        return None
                out |= chars
                return out, False
            if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
                continue                     # zero width: the next item decides
            if op is C.SUBPATTERN:
                r = first(av[3])
            elif op is C.BRANCH:
                r, nullable = set(), False
                for alt in av[1]:
                    b = first(alt)
                    if b is None:
                        return None
                    r |= b[0]
                    nullable = nullable or b[1]
                r = (r, nullable)
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
                b = first(av[2])
                r = None if b is None else (b[0], b[1] or av[0] == 0)
            else:
                return None
            if r is None:
                return None
            out |= r[0]
            if not r[1]:
                return out, False
        return out, True

    def scanned_fast(seq) -> bool:
        """re finds the start itself: the pattern opens with a literal, a class, or alternatives that each
        open with a literal (what re's own compiler turns into a fast prefix scan)."""
        while seq and seq[0][0] is C.SUBPATTERN:
            seq = seq[0][1][3]
        if not seq:
            return False
        op, av = seq[0]
        if op in (C.LITERAL, C.IN):
            return not rx.flags & re.IGNORECASE
        return op is C.BRANCH and all(alt and alt[0][0] is C.LITERAL for alt in av[1]) \
            and not rx.flags & re.IGNORECASE

    try:
        parsed = P.parse(rx.pattern, rx.flags)
        if scanned_fast(list(parsed)):
            return None
        res = first(parsed)
    except Exception:                       # an unusual construct: plain scanning is always right
        return None
    if res is None or res[1] or not res[0]:
        return None
    return re.compile("[" + "".join(re.escape(c) for c in sorted(res[0])) + "]", rx.flags & re.IGNORECASE)


def lead_finditer(rx: re.Pattern, lead: re.Pattern | None, text: str) -> Iterable[re.Match]:
    """``rx.finditer(text)`` for a pattern that cannot match the empty string; ``lead`` from ``lead_class``.
    A plain function, not a generator: it is called for every pattern on every note, mostly to find nothing."""
    if lead is None:
        return rx.finditer(text)
    first = lead.search(text)
    if first is None:
        return ()
    out, match, pos = [], rx.match, 0
    for c in lead.finditer(text, first.start()):
        at = c.start()
        if at < pos:
            continue
        m = match(text, at)
        if m is not None and m.end() > at:
            out.append(m)
            pos = m.end()
    return out
