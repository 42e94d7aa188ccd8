"""Scan time of one run-on note (no 。 anywhere) of 5k/10k/20k/40k/100k characters (benchmark, not a test).

usage: python bench/bench_runon.py [--sizes 5000,10000,...] [--profile N] [--corpus IGNORED]
Targets (issue 18): 40,000 characters in <= 2 s, 100,000 in <= 5 s, on one core. The scanner loads once first.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# a nursing note written as one run-on sentence: commas only, and the usual mentions (sides, drugs, values, times)
PIECE = ("患者男，65岁，左下肢疼痛，右侧髋部压痛，予头孢他啶2g静滴q12h抗感染，氨溴索30mg静注bid化痰，"
         "BP 145/85mmHg，P 102次/分，T 37.8℃，10:30协助翻身，骶尾部皮肤发红约3cm×2cm，家属陪护，"
         "夜间患者自行下床如厕时不慎跌倒，左侧额部擦伤，血钾3.6mmol/L，青霉素过敏，告知跌倒风险，")


def runon(n: int) -> str:
    return (PIECE * (n // len(PIECE) + 1))[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5000,10000,20000,40000,100000")
    ap.add_argument("--profile", type=int, default=0, help="profile the scan of this many characters")
    ap.add_argument("--corpus", help="ignored (make bench passes it to every benchmark)")
    a = ap.parse_args()
    from nlp.scanner import Scanner
    from nlp.types import NoteInput
    scanner = Scanner()
    scanner.scan(NoteInput(id="warm", text=runon(500)), ())
    if a.profile:
        import cProfile
        import pstats
        cProfile.runctx("scanner.scan(NoteInput(id='p', text=runon(a.profile)), ())", globals(), locals(),
                        "/tmp/runon.prof")
        pstats.Stats("/tmp/runon.prof").sort_stats("cumulative").print_stats(40)
        return
    print(f"{'chars':>8}  {'seconds':>8}  findings")
    for n in (int(x) for x in a.sizes.split(",")):
        t0 = time.perf_counter()
        result = scanner.scan(NoteInput(id=f"runon-{n}", text=runon(n)), ())
        print(f"{n:>8}  {time.perf_counter() - t0:8.2f}  {len(result.findings)}", flush=True)


if __name__ == "__main__":
    main()
