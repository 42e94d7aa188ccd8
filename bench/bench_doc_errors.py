"""Detection time of nlp.doc_errors for a typical 500-character note (benchmark, not a test).

usage: python bench/bench_doc_errors.py [--runs N] [--folder PATH/chineseblue-cehrner]
Without --folder a built-in 500-character admission note is used; with it, real notes cut to 500 characters.
Knowledge tables and indexes load once before timing (as in the scanner).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOTE = ("患者男，65岁，因“反复咳嗽、咳痰10年，加重伴气促3天”入院。现病史：患者10年前开始反复咳嗽、咳白色黏痰，"
        "冬春季节加重，3天前受凉后咳嗽加重，咳黄脓痰，伴气促，活动后明显，无胸痛、咯血。既往史：高血压病史8年，"
        "规律服用氨氯地平5mg qd，血压控制可；否认糖尿病、冠心病病史，否认手术外伤史。过敏史：青霉素过敏。"
        "个人史：吸烟40年，每日20支。体格检查：T 37.8℃，P 102次/分，R 24次/分，BP 145/85mmHg，SpO2 90%。"
        "神志清楚，口唇发绀，桶状胸，双肺呼吸音低，可闻及散在湿啰音及哮鸣音，心率102次/分，律齐，腹软，无压痛，"
        "双下肢无水肿。辅助检查：血常规WBC 12.5×10^9/L，中性粒细胞85%，Hb 132g/L，PLT 210×10^9/L；血钾 3.6mmol/L，"
        "血钠 138mmol/L，肌酐 86μmol/L；血气分析pH 7.36，PaO2 58mmHg，PaCO2 52mmHg。初步诊断：慢性阻塞性肺疾病急性加重，"
        "II型呼吸衰竭，高血压病2级。诊疗计划：予头孢他啶2g 静滴 q12h抗感染，氨溴索30mg 静注 bid化痰，"
        "多索茶碱0.2g 静滴 bid平喘，低流量吸氧，监测血气。入院日期：2024-03-02。")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--folder")
    a = ap.parse_args()
    import spacy

    import nlp.doc  # noqa: F401
    from nlp.doc_errors import Detector
    from nlp.types import NoteInput
    texts = [NOTE[:500]]
    if a.folder:
        texts = []
        for p in sorted(Path(a.folder).glob("*.json")):
            with open(p, encoding="utf-8") as f:
                texts += [json.loads(line)["text"][:500] for line in f if line.strip()]
        texts = [t for t in texts if len(t) >= 400][:a.runs]
    t0 = time.perf_counter()
    det = Detector()
    blank = spacy.blank("zh")
    warm = blank.make_doc(texts[0])
    det(warm)
    load_s = time.perf_counter() - t0
    times = []
    for i in range(a.runs):
        text = texts[i % len(texts)]
        doc = blank.make_doc(text)
        doc._.note = NoteInput.from_dict({"id": "b", "text": text, "time": "2024-03-02T10:00:00",
                                          "patient": {"sex": "男", "age": 65}})
        t = time.perf_counter()
        det(doc)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"load+first={load_s:.2f}s notes={len(texts)} chars≈{len(texts[0])} runs={a.runs} "
          f"median={statistics.median(times):.1f}ms p95={times[int(len(times) * 0.95) - 1]:.1f}ms (target < 50 ms)")


if __name__ == "__main__":
    main()
