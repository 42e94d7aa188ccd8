"""Words people read: category labels from data/taxonomy.yaml, severity/status/source names, masking."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

SEVERITY_LABELS = {"I": "I级 警讯事件", "II": "II级 不良后果", "III": "III级 未造成后果", "IV": "IV级 隐患"}
STATUS_LABELS = {"draft": "草稿", "new": "待审核", "in_review": "审核中", "confirmed": "已确认",
                 "dismissed": "已排除", "merged": "已合并", "closed": "已关闭"}
SOURCE_LABELS = {"nlp": "NLP 识别", "manual": "人工上报", "dingtalk": "钉钉上报", "web": "网页上报"}
ROLE_LABELS = {"admin": "系统管理员", "quality_manager": "质控科", "department_reviewer": "科室质控员",
               "reporter": "上报人"}
DISMISS_REASONS = ("误报", "重复", "非住院期间", "已知并发症", "其他")
ACTION_LABELS = {"created": "系统识别创建", "evidence_added": "新增证据", "severity_raised": "系统升级严重程度",
                 "reported": "上报", "report_merged": "上报并入", "submitted": "提交草稿", "confirm": "确认",
                 "dismiss": "排除", "merge": "合并到其他事件", "merged_from": "合并入本事件", "assign": "指派",
                 "comment": "评论", "change_severity": "调整严重程度", "rca": "根因分析/整改措施",
                 "close": "关闭", "reopen": "重新打开", "escalated": "逾期升级",
                 "parsed": "钉钉消息解析", "report_followup": "上报人补充信息", "withdraw": "上报人撤回",
                 "report_corrected": "上报人更正", "filed_incomplete": "超时未补充，按待补充归档"}
UNCLASSIFIED_LABEL = "待分类"   # a DingTalk draft whose type is not known yet


@lru_cache(maxsize=4)
def taxonomy(data_dir: str) -> dict[str, dict[str, str]]:
    """{"events": {code: label}, "doc_errors": {code: label}} from data/taxonomy.yaml."""
    with open(Path(data_dir) / "taxonomy.yaml", encoding="utf-8") as f:
        raw = yaml.safe_load(f)
    return {kind: {code: (v or {}).get("label", code) for code, v in (raw.get(kind) or {}).items()}
            for kind in ("events", "doc_errors")}


def category_labels(data_dir: str) -> dict[str, str]:
    tx = taxonomy(str(data_dir))
    return {**tx["events"], **tx["doc_errors"], "unclassified": UNCLASSIFIED_LABEL}


def mask_name(name: str | None) -> str:
    """张三丰 → 张**; lists and messages never show the full name."""
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


_EXPERIENCER = {"patient": "患者本人", "family": "家属", "other": "他人"}


def context_text(ctx: dict) -> str:
    """A finding's context in words: 患者本人；非否定；本次住院；已发生."""
    parts = [_EXPERIENCER.get(str(ctx.get("experiencer", "patient")), str(ctx.get("experiencer")))]
    parts.append("否定" if ctx.get("negated") else "非否定")
    parts.append("既往/院外" if ctx.get("historical") else "本次住院")
    parts.append("假设/计划" if ctx.get("hypothetical") else "已发生")
    return "；".join(parts)
