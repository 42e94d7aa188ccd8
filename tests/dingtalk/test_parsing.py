"""The report parser: twenty-odd realistic messages get the right category; beds, wards, times, names."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from service.dingtalk.keywords import keyword_table
from service.dingtalk.parsing import extract_bed, extract_patient, extract_time, parse_report
from service.dingtalk.replies import mask_name, mask_text
from service.settings import REPO_DATA_DIR
from tests.dingtalk.reports import REPORTS

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=TZ).astimezone(timezone.utc)     # noon, hospital time
TABLE = keyword_table(str(REPO_DATA_DIR))


@pytest.mark.parametrize("text,category", REPORTS, ids=[c + str(i) for i, (_, c) in enumerate(REPORTS)])
def test_report_messages_parse_into_the_right_category(text, category, scanner):
    rep = parse_report(text, table=TABLE, now=NOW, tz=TZ, scanner=scanner)
    assert rep.category == category, (rep.category, rep.category_source)
    assert rep.severity in ("I", "II", "III", "IV")
    # a day alone ("今日尿培养…") is no time of the event: the bot asks for it
    assert rep.occurred_at is not None or not re.search(r"\d[:点时]|[点时]\d|[早晚晨午]|凌晨|夜", text)


@pytest.mark.parametrize("text,category", REPORTS)
def test_keyword_fallback_alone_gets_the_category(text, category):
    assert parse_report(text, table=TABLE, now=NOW, tz=TZ, scanner=None).category == category


@pytest.mark.parametrize("text,expected", [
    ("今晨6点", "11-29 06:00"), ("昨晚22:30坠床", "11-28 22:30"), ("凌晨2点", "11-29 02:00"),
    ("今日14:30", "11-29 14:30"), ("今天下午3点", "11-29 15:00"), ("昨天晚上8点半", "11-28 20:30"),
    ("11月27日 9时20分", "11-27 09:20"), ("夜间1点", "11-29 01:00"), ("刚才", "11-29 12:00"),
    ("22:30", "11-28 22:30"),
])
def test_times(text, expected):
    when, _, _ = extract_time(text, now=NOW, tz=TZ)
    assert when.astimezone(TZ).strftime("%m-%d %H:%M") == expected


def test_vague_times_are_approximate_and_missing_time_is_none():
    assert extract_time("今晨如厕时跌倒", now=NOW, tz=TZ)[2] is True
    assert extract_time("3床患者跌倒，左腕擦伤", now=NOW, tz=TZ)[0] is None
    assert extract_time("血钾6.8mmol/L，10ml，3小时后", now=NOW, tz=TZ)[0] is None


def test_beds_wards_names():
    assert extract_bed("3床王某某") == "3" and extract_bed("加12床") == "加12" and extract_bed("床旁发现") is None
    rep = parse_report("骨科二病区12床患者张三昨晚坠床", table=TABLE, now=NOW, tz=TZ)
    assert (rep.ward, rep.department, rep.bed, rep.patient) == ("骨科二病区", "骨科", "12", "张三")
    assert extract_patient("3床王某某今晨跌倒") == "王某某"
    assert extract_patient("患者于今日跌倒") is None and extract_patient("患者高热后跌倒") is None
    rep = parse_report("患者李某摔倒，已请神经外科会诊", table=TABLE, now=NOW, tz=TZ)
    assert rep.department is None


def test_anonymous_and_masking():
    rep = parse_report("【匿名】3床今晨跌倒", table=TABLE, now=NOW, tz=TZ)
    assert rep.anonymous and "匿名" not in rep.text
    assert mask_name("王某某") == "王**" and mask_name("张三") == "张*"
    masked = mask_text("通知张三家属13812345678，身份证110101199003071234", ("张三",))
    assert "张三" not in masked and "13812345678" not in masked and "110101199003071234" not in masked
