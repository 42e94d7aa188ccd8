"""Admin page of the notifications: channel health (config errors such as 310000 / 300001 surfaced), dead letters
with a "resend" action, routing rules editing. No note text or patient data is shown here."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import Field
from sqlmodel import select

from models import AdverseEvent, User
from models.notification import DeliveryMode, RoutingRule, RoutingRuleCreate, RoutingRuleUpdate
from notifications import admin as notify_admin
from notifications.render import category_labels, event_number
from notifications.settings import NotifySettings
from service.deps import SessionDep
from service.edge import DB_INT_MAX, RowId
from service.web.auth import AdminUser, CsrfChecked, WebError
from service.web.render import render

router = APIRouter(include_in_schema=False)
PAGE = "/admin/notifications"
MODE_LABELS = {"by_severity": "按级别（I/II 立即，III/IV 汇总）", "immediate": "立即", "digest": "汇总"}


def notify_settings(request: Request) -> NotifySettings:
    st = request.app.state
    if getattr(st, "notify_settings", None) is None:
        st.notify_settings = NotifySettings()
    return st.notify_settings


NotifySettingsDep = Annotated[NotifySettings, Depends(notify_settings)]


def load_rule(rule_id: RowId, session: SessionDep) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise WebError(404, "路由规则不存在")
    return rule


RuleDep = Annotated[RoutingRule, Depends(load_rule)]


def _targets(notify: NotifySettings) -> list[tuple[str, str]]:
    out = [(f"robot:{name}", f"群机器人 {name}") for name in notify.robots()]
    if "robot:default" not in [t for t, _ in out]:
        out.insert(0, ("robot:default", "群机器人 default（未配置，发往日志）"))
    out += [("work_notice", "工作通知（指定人员）" + ("" if notify.work_notice_configured else "（未配置，发往日志）")),
            ("log", "仅记录日志"), ("none", "不通知")]
    return out


@router.get(PAGE)
def notifications_page(request: Request, session: SessionDep, user: AdminUser, notify: NotifySettingsDep):
    ov = notify_admin.overview(session=session)
    event_ids = {m.event_id for m in ov.dead if m.event_id}
    events = {e.id: e for e in session.exec(select(AdverseEvent).where(AdverseEvent.id.in_(event_ids))).all()} \
        if event_ids else {}
    people = session.exec(select(User).where(User.dingtalk_staff_id.is_not(None), User.is_active == True)  # noqa: E712
                          .order_by(User.username)).all()
    robots = [{"name": r.name, "signed": bool(r.secret)} for r in notify.robots().values()]
    return render(request, "admin/notifications.html", ov=ov, events=events, event_number=event_number,
                  errcode_help=notify_admin.ERRCODE_HELP, targets=_targets(notify), robots=robots,
                  work_notice=notify.work_notice_configured, people=people, modes=MODE_LABELS,
                  categories=category_labels(str(request.app.state.settings.data_dir)),
                  severities=["I", "II", "III", "IV"], notify=notify)


@router.post(PAGE + "/outbox/{message_id}/resend")
def resend(message_id: RowId, session: SessionDep, user: AdminUser, _: CsrfChecked):
    if notify_admin.resend(session=session, message_id=message_id) is None:
        raise WebError(404, "没有这条死信（可能已重发）")
    session.commit()
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/channels/{channel}/resume")
def resume(channel: str, session: SessionDep, user: AdminUser, _: CsrfChecked):
    notify_admin.resume_channel(session=session, channel=channel)
    session.commit()
    return RedirectResponse(PAGE, status_code=303)


def _rule_form(name: str, priority: int, target: str, mode: str, severities: list[str], categories: list[str],
               departments: str, user_ids: list[int], enabled: bool, stop: bool) -> dict:
    try:
        mode_v = DeliveryMode(mode)
    except ValueError:
        raise WebError(400, "未知的发送方式") from None
    if not name.strip():
        raise WebError(400, "请填写规则名称")
    deps = [d.strip() for d in departments.replace("，", ",").split(",") if d.strip()]
    return dict(name=name.strip()[:128], priority=priority, target=target[:64], mode=mode_v,
                severities=[s for s in severities if s in ("I", "II", "III", "IV")], categories=categories,
                departments=deps, user_ids=user_ids, enabled=enabled, stop=stop)


RuleName = Annotated[str, Form(max_length=128)]
UserIds = Annotated[list[Annotated[int, Field(ge=1, le=DB_INT_MAX)]], Form()]
Priority = Annotated[int, Form(ge=-DB_INT_MAX, le=DB_INT_MAX)]


@router.post(PAGE + "/rules")
def create_rule(session: SessionDep, user: AdminUser, _: CsrfChecked, name: RuleName,
                target: Annotated[str, Form()] = "robot:default", mode: Annotated[str, Form()] = "by_severity",
                priority: Priority = 100, severities: Annotated[list[str], Form()] = [],
                categories: Annotated[list[str], Form()] = [], departments: Annotated[str, Form()] = "",
                user_ids: UserIds = [], enabled: Annotated[bool, Form()] = False,
                stop: Annotated[bool, Form()] = False):
    data = _rule_form(name, priority, target, mode, severities, categories, departments, user_ids, enabled, stop)
    notify_admin.create_rule(session=session, data=RoutingRuleCreate(**data))
    session.commit()
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/rules/{rule_id}")
def update_rule(rule: RuleDep, session: SessionDep, user: AdminUser, _: CsrfChecked,
                name: RuleName, target: Annotated[str, Form()] = "robot:default",
                mode: Annotated[str, Form()] = "by_severity", priority: Priority = 100,
                severities: Annotated[list[str], Form()] = [], categories: Annotated[list[str], Form()] = [],
                departments: Annotated[str, Form()] = "", user_ids: UserIds = [],
                enabled: Annotated[bool, Form()] = False, stop: Annotated[bool, Form()] = False):
    data = _rule_form(name, priority, target, mode, severities, categories, departments, user_ids, enabled, stop)
    notify_admin.update_rule(session=session, rule=rule, data=RoutingRuleUpdate(**data))
    session.commit()
    return RedirectResponse(PAGE, status_code=303)


@router.post(PAGE + "/rules/{rule_id}/delete")
def delete_rule(rule: RuleDep, session: SessionDep, user: AdminUser, _: CsrfChecked):
    notify_admin.delete_rule(session=session, rule=rule)
    session.commit()
    return RedirectResponse(PAGE, status_code=303)
