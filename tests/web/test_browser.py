"""The triage pages in real Chromium against a real uvicorn server. Screenshots go to tests/artifacts/."""
from __future__ import annotations

import pytest

from tests.web.conftest import shot
from tests.web.helpers import PASSWORD, dingtalk_draft, file_stale, manual_event, nlp_event

pytestmark = pytest.mark.browser

FALL = "02:30巡视病房，患者夜间如厕时不慎跌倒，右髋部着地，诉右髋部疼痛，活动受限，立即通知值班医生，急查髋关节X线示右股骨颈骨折。"


def log_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_triage_flow_filter_open_dismiss(page, users, engine, settings):
    fall = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒", severity="II", encounter="E1")
    nlp_event(engine, settings, text="患者诉胸闷，心电监护示室颤，立即心肺复苏。", evidence="室颤",
              category="cardiac_arrest_unexpected_death", severity="I", encounter="E2", department="ICU",
              patient_name="王强")
    manual_event(engine, settings, department="神经内科")
    page.goto("/events")
    assert "/login" in page.url
    shot(page, "01-login")
    log_in(page, "quality")
    page.wait_for_selector("table.queue")
    assert page.locator("tbody tr[data-event-id]").count() == 3
    shot(page, "02-queue")

    page.evaluate("window.__noReload = true")
    page.select_option("select[name=category]", "fall")
    page.wait_for_function("document.querySelectorAll('tbody tr[data-event-id]').length === 1")
    assert page.evaluate("window.__noReload") is True  # htmx swapped the list; no full page load
    assert "category=fall" in page.url
    assert page.locator(".tab.active .count").inner_text() == "1"
    shot(page, "03-queue-filtered")

    page.click(f"tr[data-event-id='{fall}'] td.num a")
    page.wait_for_selector("mark.evidence")
    assert page.locator(".note-text mark.evidence").first.inner_text() == "不慎跌倒"
    assert "张秀英" in page.locator(".facts").inner_text()
    shot(page, "04-event")

    page.check("#form-dismiss input[value='误报']")
    page.fill("#form-dismiss textarea[name=comment]", "风险评估记录，非事件")
    page.click("#form-dismiss button[type=submit]")
    page.wait_for_selector(".alert-ok")
    assert f"事件 #{fall} 已排除" in page.locator(".alert-ok").inner_text()
    assert page.locator(f"tr[data-event-id='{fall}']").count() == 0
    shot(page, "05-queue-after-dismiss")

    page.goto(f"/events/{fall}")
    assert "误报" in page.locator(".history").inner_text()
    page.goto("/events?status=dismissed")
    assert page.locator(f"tr[data-event-id='{fall}']").count() == 1


def test_incomplete_tab_shows_drafts_and_what_they_lack(page, users, engine, settings):
    filed = dingtalk_draft(engine, settings, text="引流管掉出来了 病人下床活动的时候扯掉的",
                           missing=["location", "occurred_at"], department=None, conversation="cid-a")
    file_stale(engine, settings)
    draft = dingtalk_draft(engine, settings, text="<script>alert(1)</script>骨科有个事要报一下 王某某",
                           missing=["category"], patient="王某某", conversation="cid-b")
    nlp_event(engine, settings, text=FALL, evidence="不慎跌倒", encounter="E1")
    log_in(page, "quality")
    page.wait_for_selector("table.queue")
    assert page.locator(".tab[data-status=incomplete] .count").inner_text() == "2"
    assert page.locator(f"tr[data-event-id='{draft}']").count() == 0

    page.evaluate("window.__noReload = true")
    page.click(".tab[data-status=incomplete]")
    page.wait_for_selector("#incomplete-hint")
    assert page.evaluate("window.__noReload") is True and "status=incomplete" in page.url
    assert page.locator("tbody tr[data-event-id]").count() == 2
    assert "缺少：地点、时间" in page.locator(f"tr[data-event-id='{filed}'] td.missing").inner_text()
    cell = page.locator(f"tr[data-event-id='{draft}'] td.missing").inner_text()
    assert "缺少：类型" in cell and "<script>alert(1)</script>" in cell and "王某某" not in cell
    assert page.locator("td.missing script").count() == 0 and page.dialogs == []
    shot(page, "06a-queue-incomplete")


def test_reviewer_cannot_open_other_department_by_url(page, users, engine, settings):
    neuro = nlp_event(engine, settings, text="患者自行拔出胃管。", evidence="自行拔出胃管",
                      category="unplanned_extubation", department="神经内科", encounter="E5", patient_name="李建国")
    log_in(page, "ortho")
    page.wait_for_selector("table.queue")
    assert page.locator("tbody tr[data-event-id]").count() == 0
    resp = page.goto(f"/events/{neuro}")
    assert resp.status == 403
    assert "无权访问" in page.content() and "李建国" not in page.content()
    shot(page, "06-forbidden")


def test_script_in_note_renders_as_text(page, users, engine, settings):
    text = "夜班记录：<script>alert(1)</script><img src=x onerror=alert(2)> 患者如厕时不慎跌倒。"
    eid = nlp_event(engine, settings, text=text, evidence="不慎跌倒")
    log_in(page, "quality")
    page.goto(f"/events/{eid}")
    page.wait_for_selector("mark.evidence")
    note = page.locator(".note-text").first.inner_text()
    assert "<script>alert(1)</script>" in note and "<img src=x onerror=alert(2)>" in note
    assert page.locator(".note-text script, .note-text img").count() == 0
    page.wait_for_timeout(200)
    assert page.dialogs == []
    shot(page, "07-event-script-as-text")


def test_form_without_csrf_token_is_refused(page, users, engine, settings):
    eid = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒")
    log_in(page, "quality")
    page.goto(f"/events/{eid}")
    page.evaluate("document.querySelector('#form-dismiss input[name=csrf_token]').remove()")
    page.check("#form-dismiss input[value='重复']")
    with page.expect_navigation() as nav:
        page.click("#form-dismiss button[type=submit]")
    assert nav.value.status == 403
    assert "CSRF" in page.content()
    shot(page, "08-csrf-refused")
    page.goto("/events")
    assert page.locator(f"tr[data-event-id='{eid}']").count() == 1


def test_lockout_after_five_wrong_passwords(page, users):
    for _ in range(5):
        log_in(page, "ortho", "wrong-password")
    assert "已锁定" in page.locator(".alert-error").inner_text()
    log_in(page, "ortho")
    assert "已锁定" in page.locator(".alert-error").inner_text() and "/login" in page.url
    shot(page, "09-locked")


def test_other_pages_render(page, users, engine, settings):
    a = nlp_event(engine, settings, text=FALL, evidence="不慎跌倒", encounter="E1", rule="fall.event.v1")
    nlp_event(engine, settings, text="输液处皮肤红肿，考虑输液外渗。", evidence="输液外渗", category="infusion_injury",
              severity="III", encounter="E3", department="神经内科", rule="infusion.extravasation")
    manual_event(engine, settings)
    log_in(page, "admin")
    page.goto(f"/events/{a}")
    page.select_option("#form-confirm select[name=final_severity]", "II")
    page.click("#form-confirm button[type=submit]")
    page.wait_for_selector(".alert-ok")
    page.goto(f"/events/{a}")
    shot(page, "10-event-confirmed")
    page.goto("/stats")
    page.wait_for_selector("svg.chart")
    shot(page, "11-stats")
    page.goto("/reports/new")
    shot(page, "12-report-form")
    page.select_option("select[name=category]", "fall")
    page.fill("textarea[name=description]", "3床患者如厕时跌倒，左腕擦伤，已处理")
    page.fill("input[name=department]", "骨科")
    page.fill("input[name=bed]", "3")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("text=上报成功")
    shot(page, "13-report-thanks")
    page.goto("/admin")
    shot(page, "14-admin")
    page.goto("/admin/audit")
    assert "view_event" in page.content()
    shot(page, "15-audit")
