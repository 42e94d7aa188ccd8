"""Evaluate the DingTalk bot on report messages written by people outside the team.

usage: python bench/eval_reports.py SET.jsonl [SET2.jsonl ...]   (also: aew eval-reports SET.jsonl ...)
Each message goes through the real bot path (fresh SQLite database, real scanner, now = sent_at); when the bot
asks, the gold follow-up is sent next. Prints category/bed/department/hour accuracy, whether every incomplete
report got the right question, reports dropped, places invented, then the misses.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> None:
    import argparse
    import logging
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="+", help="report messages as JSON Lines")
    a = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    from service.dingtalk.evaluation import report
    print(report(a.sets))


if __name__ == "__main__":
    main()
