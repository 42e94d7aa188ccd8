"""How people type reports: beds in Chinese numerals and templates, times that are not clocks, wards and their
aliases, departments that only phoned, voice-input typos and colloquial phrasings (all as data)."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from service.dingtalk.colloquial import colloquial, load_colloquial
from service.dingtalk.keywords import keyword_table
from service.dingtalk.parsing import extract_bed, extract_ward, parse_report
from service.dingtalk.places import load_places, place_table
from service.dingtalk.when import cn_number, extract_time
from service.settings import REPO_DATA_DIR

TZ = ZoneInfo("Asia/Shanghai")
DATA = str(REPO_DATA_DIR)
TABLE = keyword_table(DATA)


def at(hh: int, mm: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 12, day, hh, mm, tzinfo=TZ).astimezone(timezone.utc)


def local(text: str, now: datetime) -> str | None:
    when, _, _ = extract_time(text, now=now, tz=TZ)
    return when.astimezone(TZ).strftime("%d %H:%M") if when else None


@pytest.mark.parametrize("text,bed", [
    ("十二床王某某", "12"), ("老年病科二十一床老太太", "21"), ("神内加六床 晚上", "加6"), ("床号:15 呼吸科", "15"),
    ("床号：加6 心内", "加6"), ("产科15号 中午", "15"), ("儿科二病区8号 患儿", "8"), ("老年病科加3 坠床", "加3"),
    ("ICU 床号：7 约束带", "7"), ("15号床", "15"), ("+8床", "加8"), ("肾内7床 发药时把8床的药给7床", "7"),
    ("血透室6号机", None), ("床旁发现", None), ("隔壁床同姓", None), ("急诊留观室的一个患者", None),
    ("下床上厕所", None), ("三十五床", "35"),
])
def test_beds(text, bed):
    assert extract_bed(text) == bed


@pytest.mark.parametrize("text,now,expected", [
    ("凌晨三点半跌倒", at(4, 12), "10 03:30"),
    ("晚上十点二十 在卫生间", at(22, 51), "10 22:20"),
    ("肺癌晚期 晚上九点多用药后", at(22, 30), "10 21:00"),
    ("肺癌晚期的老爷爷翻身发现水泡", at(11), None),               # 晚期 is not 晚
    ("膝盖蹭掉一点皮 别的没事", at(11), None),                      # 一点皮 is not 01:00
    ("那组点滴漏挂了", at(11), None),
    ("现在血糖三点九", at(11), None),                              # a value; 现在 tells the state
    ("早上七点二十打的 现在血糖三点九", at(8, 5), "10 07:20"),        # a stated time wins over 现在
    ("刚才发现 今天中午12点20分摔倒", at(13, 5), "10 12:20"),
    ("昨晚十一点发现的", at(7, 5), "09 23:00"),                    # relative days are kept
    ("晚上十一点四十", at(0, 5, day=11), "10 23:40"),              # written just after midnight
    ("十分钟前发现的", at(5, 25), "10 05:15"),
    ("刚才的事", at(3, 20), "10 03:20"),
    ("大概五点四十", at(6, 40), "10 05:40"),
    ("晚上8点", at(21, 10), "10 20:00"),
    ("8点左右", at(21, 10), "10 20:00"),                         # the recent 8 o'clock
    ("体温三十九点二 凌晨一点输血", at(1, 40), "10 01:00"),
    ("今早发现", at(8, 15), "10 07:00"),
    ("今天出院那个人的腕带", at(20, 45), None),                     # a day alone is no time of the event
    ("钾六点八 凌晨三点接的电话", at(5, 15), "10 03:00"),
])
def test_times_as_typed(text, now, expected):
    assert local(text, now) == expected


def test_chinese_numbers():
    assert [cn_number(s) for s in ("十二", "二十一", "三十", "十", "两", "零五", "12", "百")] == [12, 21, 30, 10, 2, 5, 12, None]


@pytest.mark.parametrize("text,ward,department", [
    ("心内12床王某某", "心内", "心血管内科"), ("神内加六床", "神内", "神经内科"), ("血透室 加2床", "血透室", "血液净化中心"),
    ("老年病科十八床", "老年病科", "老年医学科"), ("呼吸科二病区十七床", "呼吸科二病区", "呼吸内科"),
    ("综合ICU 4床", "综合ICU", "重症医学科"), ("ICU十一床 检验科来电 痰培养", "ICU", "重症医学科"),
    ("药剂科审方：今天发现心内科18床华法林剂量开成了5mg", "心内科", "心血管内科"),
    ("我们是老年病科护理组，16床老爷爷不见了", "老年病科", "老年医学科"),
    ("检验科来电十五床钾六点八 危急值", None, None),              # the lab only phoned
    ("检验科打电话说结果对不上", None, None),
    ("右手腕肿，请骨科会诊了", None, None),                        # consulted, not the place
    ("已经换泵了 通知设备科了", None, None),
    ("发现没呼吸了 抢救无效", None, None),                          # 呼吸 is a ward only before a number
    ("刚才一个病人在走廊里跌倒了", None, None),                      # nothing named: no place invented
    ("急诊留观室的一个患者 已转CCU", "急诊留观室", "急诊科"),
])
def test_wards_and_departments(text, ward, department):
    assert extract_ward(text) == (ward, department)


@pytest.mark.parametrize("text,category", [
    ("5床病人在厕所摔了一跤", "fall"), ("8床老人从轮椅上滑下来了", "fall"), ("3床跌到了 头上磕了个包", "fall"),
    ("9床骶尾部压创二期", "pressure_injury"), ("7床鼻导管把鼻翼压破了", "pressure_injury"),
    ("6床留置针外参 肿了一片", "infusion_injury"), ("11床病人自己把胃管拔官了", "unplanned_extubation"),
    ("2床尿管扯掉了", "unplanned_extubation"), ("4床胰岛素漏打了", "medication_error"),
    ("12床的药给13床吃了", "medication_error"), ("3床降压药重复给了", "medication_error"),
    ("1床输血浆后全身起风团", "transfusion_reaction"), ("1床用了头孢后起红疹子", "adverse_drug_reaction"),
    ("9床喂饭时呛着了", "aspiration_choking"), ("10床家属热水袋烫到脚了", "burn_scald"),
    ("ICU输液泵突然不走了", "equipment_failure"), ("危机值没及时报医生", "critical_value_delay"),
    ("20床老爷子走丢了", "self_harm_elopement"), ("4床巡视发现没呼吸了", "cardiac_arrest_unexpected_death"),
    ("抽血认错人了", "identification_error"),
])
def test_colloquial_categories_without_the_scanner(text, category):
    rep = parse_report(text, table=TABLE, now=at(12), tz=TZ, scanner=None)
    assert rep.category == category, (rep.category, rep.extra)


@pytest.mark.parametrize("text", ["要上报一个不良事件 怎么弄", "十二床出了点状况 要报一下", "刚才那个病人情况不太好",
                                  "血压跌到七十"])
def test_vague_messages_have_no_category(text):
    assert parse_report(text, table=TABLE, now=at(12), tz=TZ, scanner=None).category is None


def test_typos_keep_values():
    c = colloquial(DATA)
    assert c.fix_typos("病人跌到了 血压跌到80") == "病人跌倒了 血压跌到80"
    assert c.fix_typos("骶尾部压创 二期") == "骶尾部压疮 二期"


def test_every_colloquial_rule_matches_its_examples():
    c = colloquial(DATA)
    for rule in c.rules:
        for s in rule.match:
            assert rule.regex.search(c.fix_typos(s)), (rule.category, rule.source, s)
        for s in rule.no_match:
            assert not rule.regex.search(c.fix_typos(s)), (rule.category, rule.source, s)


def test_data_files_are_validated(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("patterns:\n  fall:\n    - rule: [NOPE]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown class"):
        load_colloquial(bad)
    bad.write_text("typo: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown keys"):
        load_colloquial(bad)
    p = tmp_path / "d.yaml"
    p.write_text("departments:\n  心血管内科: [心内]\n  神经内科: [心内]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="alias of both"):
        load_places(p)


def test_alias_table_canonicalises():
    t = place_table(DATA)
    assert t.canonical("心内") == "心血管内科" and t.canonical("血透室") == "血液净化中心"
    assert t.canonical("神内") == "神经内科" and t.canonical("老年病科") == "老年医学科"
    assert t.canonical("呼吸二病区") == "呼吸内科" and t.canonical("骨科二病区") == "骨科"
    assert t.canonical("火星科") is None
