"""The queue's 待补充 tab: DingTalk drafts still missing facts and drafts the sweep filed incomplete, with what
each lacks, scoped to the reviewer's department, text escaped and names masked."""
from __future__ import annotations

import re

from sqlmodel import Session

from models import AdverseEvent, EventStatus
from service.db import session_scope
from service.services.events import record_action
from tests.web.helpers import csrf, dingtalk_draft, file_stale, login, nlp_event

FALL = "02:30巡视病房，患者夜间如厕时不慎跌倒，右髋部着地，诉疼痛。"
HX = {"HX-Request": "true", "HX-Target": "queue"}


def _rows(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'data-event-id="(\d+)"', html)}


def _tab_count(html: str, status: str) -> int:
    m = re.search(rf'data-status="{status}">[^<]*<span class="count">(\d+)</span>', html)
    assert m, f"no {status} tab"
    return int(m.group(1))


def test_incomplete_tab_lists_drafts_and_filed_incomplete_with_what_is_missing(web, users, engine, settings):
    filed = dingtalk_draft(engine, settings, text="引流管掉出来了 病人下床活动的时候扯掉的", missing=["location", "occurred_at"],
                           department=None, conversation="cid-a")
    assert file_stale(engine, settings) == [filed]
    draft = dingtalk_draft(engine, settings, text="骨科有个事要报一下 下午2点", missing=["category"], conversation="cid-b")
    nlp = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒")
    login(web, "quality")

    queue = web.get("/events").text
    assert _tab_count(queue, "incomplete") == 2 and "待补充" in queue
    assert draft not in _rows(queue) and {filed, nlp} <= _rows(queue)       # drafts stay out of 待处理
    assert "tag-incomplete" in queue                                         # the filed one is marked there

    page = web.get("/events?status=incomplete").text
    assert _rows(page) == {filed, draft}
    assert _tab_count(page, "incomplete") == 2
    assert re.search(r'class="tab active"[^>]*data-status="incomplete"', page)
    assert "待补充信息" in page and "incomplete-hint" in page
    row = {eid: page.split(f'data-event-id="{eid}"', 1)[1].split("</tr>", 1)[0] for eid in (filed, draft)}
    assert "缺少：地点、时间" in row[filed] and "超时已归档" in row[filed] and "引流管掉出来了" in row[filed]
    assert "【待补充" not in row[filed]                                       # the prefix is shown as 缺少, not twice
    assert "缺少：类型" in row[draft] and "超时已归档" not in row[draft]
    assert "草稿" in row[draft] and "待审核" in row[filed]

    partial = web.get("/events?status=incomplete&department=骨科", headers=HX).text
    assert "<html" not in partial and _rows(partial) == {draft}
    assert _tab_count(partial, "incomplete") == 1


def test_reviewed_or_corrected_reports_leave_the_incomplete_tab(web, users, engine, settings):
    a = dingtalk_draft(engine, settings, text="3床病人摔了一跤", missing=["occurred_at"], bed="3", conversation="cid-a")
    b = dingtalk_draft(engine, settings, text="有个事要报一下", missing=["category", "location"], department="骨科",
                       conversation="cid-b")
    file_stale(engine, settings)
    with session_scope(engine) as s:          # the reporter corrects the place after filing (改 科室 骨科)
        record_action(session=s, event=s.get(AdverseEvent, b), action="report_corrected", actor_name="李护士",
                      detail={"source": "dingtalk", "field": "department", "before": None, "after": "骨科"})
    login(web, "quality")
    page = web.get("/events?status=incomplete").text
    assert _rows(page) == {a, b}
    row_b = page.split(f'data-event-id="{b}"', 1)[1].split("</tr>", 1)[0]
    assert "缺少：类型" in row_b and "地点" not in row_b.split("缺少：", 1)[1].split("<", 1)[0]

    r = web.post(f"/events/{a}/dismiss", data={"reason": "误报", "csrf_token": csrf(web)}, follow_redirects=False)
    assert r.status_code == 303
    page = web.get("/events?status=incomplete").text
    assert _rows(page) == {b} and _tab_count(page, "incomplete") == 1


def test_department_reviewer_sees_only_own_departments_drafts(web, users, engine, settings):
    own = dingtalk_draft(engine, settings, text="骨科5床患者如厕时跌倒", missing=["occurred_at"], department="骨科",
                         bed="5", conversation="cid-a")
    other = dingtalk_draft(engine, settings, text="神内6床病人从床上掉下来了", missing=["occurred_at"],
                           department="神经内科", bed="6", conversation="cid-b")
    nowhere = dingtalk_draft(engine, settings, text="有个事要报一下", missing=["category"], department=None,
                             conversation="cid-c")
    login(web, "ortho")
    page = web.get("/events?status=incomplete").text
    assert _rows(page) == {own} and _tab_count(page, "incomplete") == 1
    assert "神内6床" not in page
    assert web.get(f"/events/{other}").status_code == 403
    login(web, "quality")
    assert _rows(web.get("/events?status=incomplete").text) == {own, other, nowhere}


def test_report_text_is_escaped_and_names_masked(web, users, engine, settings):
    eid = dingtalk_draft(engine, settings, text="<script>alert(1)</script>5床王某某跌倒 电话13812345678 <b>x</b>",
                         missing=["occurred_at"], bed="5", patient="王某某")
    login(web, "quality")
    page = web.get("/events?status=incomplete").text
    row = page.split(f'data-event-id="{eid}"', 1)[1].split("</tr>", 1)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in row and "<script>alert" not in page
    assert "<b>x</b>" not in row and "&lt;b&gt;x&lt;/b&gt;" in row
    assert "王某某" not in row and "王**" in row and "13812345678" not in row


def test_history_names_the_incomplete_filing_in_chinese(web, users, engine, settings):
    eid = dingtalk_draft(engine, settings, text="有个事要报一下", missing=["category", "location"], department="骨科")
    file_stale(engine, settings)
    with Session(engine) as s:
        ev = s.get(AdverseEvent, eid)
        assert ev.status == EventStatus.new and ev.summary.startswith("【待补充：")
    login(web, "quality")
    assert "超时未补充，按待补充归档" in web.get(f"/events/{eid}").text


def test_export_follows_the_incomplete_tab(web, users, engine, settings):
    import csv
    import io
    draft = dingtalk_draft(engine, settings, text="骨科有个事要报一下", missing=["category"])
    nlp_event(engine, settings, text=FALL, evidence="不慎跌倒")
    login(web, "quality")
    rows = list(csv.reader(io.StringIO(web.get("/events/export.csv?status=incomplete").content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [str(draft)]
