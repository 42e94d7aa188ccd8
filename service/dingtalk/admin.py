"""Admin page /admin/dingtalk-users: link DingTalk staff ids to users and departments; approval status."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from models import Department, User
from models.dingtalk import DingTalkApproval, DingTalkContact
from service.deps import SessionDep
from service.dingtalk.identity import link_contact
from service.web.auth import AdminUser, CsrfChecked
from service.web.render import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, session, *, error: str | None = None, status_code: int = 200, notice: str | None = None):
    contacts = session.exec(select(DingTalkContact).order_by(DingTalkContact.last_seen_at.desc()).limit(500)).all()
    users = session.exec(select(User).order_by(User.username)).all()
    deps = session.exec(select(Department).order_by(Department.name)).all()
    approvals = session.exec(select(DingTalkApproval).order_by(DingTalkApproval.id.desc()).limit(20)).all()
    by_staff = {u.dingtalk_staff_id: u for u in users if u.dingtalk_staff_id}
    return render(request, "admin/dingtalk_users.html", status_code=status_code, contacts=contacts, users=users,
                  departments=deps, users_by_id={u.id: u for u in users}, deps_by_id={d.id: d for d in deps},
                  users_by_staff=by_staff, approvals=approvals, error=error, notice=notice)


@router.get("/admin/dingtalk-users")
def dingtalk_users(request: Request, session: SessionDep, user: AdminUser, saved: str = ""):
    return _page(request, session, notice="已保存" if saved else None)


@router.post("/admin/dingtalk-users")
def link_dingtalk_user(request: Request, session: SessionDep, user: AdminUser, _: CsrfChecked,
                       staff_id: Annotated[str, Form(max_length=128)],
                       user_id: Annotated[str, Form(pattern=r"^\d{0,9}$")] = "",
                       department_id: Annotated[str, Form(pattern=r"^\d{0,9}$")] = ""):
    try:
        link_contact(session=session, staff_id=staff_id, user_id=int(user_id) if user_id else None,
                     department_id=int(department_id) if department_id else None)
        session.commit()
    except ValueError as e:
        session.rollback()
        return _page(request, session, error=str(e), status_code=400)
    return RedirectResponse("/admin/dingtalk-users?saved=1", status_code=303)
