"""Who wrote to the bot: DingTalk staff ids → users and departments; keyed sender hashes for our own rows."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from sqlmodel import Session, select

from models import Department, User
from models.base import utcnow
from models.dingtalk import DingTalkContact


@dataclass(frozen=True)
class Reporter:
    sender_key: str                 # keyed hash of the DingTalk sender, stable per person
    staff_id: str | None
    nick: str | None
    user_id: int | None = None
    name: str | None = None         # the user's full name, else the DingTalk nick
    department: str | None = None   # Department.code


def sender_key(*, secret: str, staff_id: str | None, sender_id: str | None) -> str:
    """A keyed hash of the sender; the plain id is not stored next to (possibly anonymous) reports."""
    ident = staff_id or sender_id or "unknown"
    return hmac.new((secret or "aew-dingtalk").encode("utf-8"), ident.encode("utf-8"), hashlib.sha256).hexdigest()[:40]


def resolve_reporter(*, session: Session, secret: str, staff_id: str | None, sender_id: str | None,
                     nick: str | None) -> Reporter:
    """Map the sender to a user (User.dingtalk_staff_id) or an admin-linked contact; remember the contact."""
    key = sender_key(secret=secret, staff_id=staff_id, sender_id=sender_id)
    if not staff_id:
        return Reporter(sender_key=key, staff_id=None, nick=nick, name=nick)
    contact = session.exec(select(DingTalkContact).where(DingTalkContact.staff_id == staff_id)).first()
    if contact is None:
        contact = DingTalkContact(staff_id=staff_id, nick=nick)
    else:
        contact.nick, contact.last_seen_at = nick or contact.nick, utcnow()
    session.add(contact)
    user = session.exec(select(User).where(User.dingtalk_staff_id == staff_id, User.is_active == True)).first()  # noqa: E712
    if user is None and contact.user_id:
        user = session.get(User, contact.user_id)
    dep_id = (user.department_id if user and user.department_id else None) or contact.department_id
    dep = session.get(Department, dep_id) if dep_id else None
    return Reporter(sender_key=key, staff_id=staff_id, nick=nick, user_id=user.id if user else None,
                    name=(user.full_name or user.username) if user else nick, department=dep.code if dep else None)


def link_contact(*, session: Session, staff_id: str, user_id: int | None, department_id: int | None,
                 nick: str | None = None) -> DingTalkContact:
    """Admin: link a DingTalk staff id to a user and/or department (sets User.dingtalk_staff_id)."""
    staff_id = staff_id.strip()
    if not staff_id:
        raise ValueError("钉钉 staffId 不能为空 / staff id is required")
    contact = session.exec(select(DingTalkContact).where(DingTalkContact.staff_id == staff_id)).first()
    if contact is None:
        contact = DingTalkContact(staff_id=staff_id, nick=nick)
    if department_id is not None and session.get(Department, department_id) is None:
        raise ValueError(f"科室不存在 / no department {department_id}")
    for other in session.exec(select(User).where(User.dingtalk_staff_id == staff_id)).all():
        if other.id != user_id:
            other.dingtalk_staff_id = None
            session.add(other)
    session.flush()
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise ValueError(f"用户不存在 / no user {user_id}")
        user.dingtalk_staff_id = staff_id
        if department_id is not None and user.department_id is None:
            user.department_id = department_id
        session.add(user)
    session.flush()
    contact.user_id, contact.department_id = user_id, department_id
    session.add(contact)
    session.flush()
    return contact
