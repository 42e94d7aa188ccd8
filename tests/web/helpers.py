"""Building the world of the web tests: users of every role, notes, NLP events and manual reports."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from models import EventSource, Finding, NoteCreate, Role
from service.db import session_scope
from service.services.accounts import create_user
from service.services.events import file_findings
from service.services.notes import ingest_note
from service.services.reports import file_manual_report

PASSWORD = "test-pass-2026"
USERS = [("admin", Role.admin, None, "系统管理员"), ("quality", Role.quality_manager, None, "质控科 王老师"),
         ("ortho", Role.department_reviewer, "骨科", "骨科质控员"),
         ("neuro", Role.department_reviewer, "神经内科", "神经内科质控员"),
         ("nurse", Role.reporter, "骨科", "骨科护士")]


def make_users(engine) -> dict[str, int]:
    out = {}
    with session_scope(engine) as s:
        for username, role, dep, full in USERS:
            out[username] = create_user(session=s, username=username, password=PASSWORD, role=role,
                                        department=dep, full_name=full).id
    return out


def nlp_event(engine, settings, *, text: str, evidence: str, category: str = "fall", severity: str = "II",
              rule: str = "fall.event.v1", department: str = "骨科", encounter: str = "E1", patient_name: str = "张秀英",
              note_id: str | None = None, kind: str = "event", time: datetime | None = None) -> int:
    """Store a note and a finding on its evidence, and file it into the queue with the worker's own code."""
    with session_scope(engine) as s:
        note, _ = ingest_note(session=s, data=NoteCreate.model_validate({
            "id": note_id or f"n-{encounter}-{category}-{abs(hash(text)) % 10**8}", "text": text,
            "source_system": "his", "note_type": "护理记录", "patient_id": "P" + encounter, "encounter_id": encounter,
            "department": department, "bed": "12", "time": (time or datetime.now(timezone.utc)).isoformat(),
            "patient": {"name": patient_name, "sex": "女", "age": 78}}), client_name="his")
        start = text.index(evidence)
        f = Finding(note_id=note.id, kind=kind, category=category, severity=severity, start=start,
                    end=start + len(evidence), evidence=evidence, confidence=0.93, rule=rule,
                    explanation=f"护理记录中描述了{evidence}", context={"negated": False}, section="病程记录")
        s.add(f)
        s.flush()
        events = file_findings(session=s, note=note, findings=[f], settings=settings)
        return events[0].id


def manual_event(engine, settings, *, category: str = "medication_error", severity: str = "III",
                 department: str = "骨科", description: str = "给药时发现剂量错误，已及时纠正", reporter_id=None) -> int:
    with session_scope(engine) as s:
        ev, _ = file_manual_report(session=s, settings=settings, category=category, severity=severity,
                                   description=description, source=EventSource.web, department=department,
                                   reporter_user_id=reporter_id, reporter_name="骨科护士")
        return ev.id


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token in page"
    return m.group(1)


def login(client, username: str, password: str = PASSWORD):
    page = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(page.text),
                                       "next": "/events"}, follow_redirects=False)


def csrf(client, path: str = "/events") -> str:
    return csrf_from(client.get(path).text)


def dingtalk_draft(engine, settings, *, text: str, missing: list[str], category: str = "unclassified",
                   department: str | None = "骨科", bed: str | None = None, patient: str | None = None,
                   conversation: str = "cid-1") -> int:
    """A DingTalk report still missing facts: a draft event and the conversation waiting for the follow-up."""
    from datetime import timedelta

    from models.base import utcnow
    from models.dingtalk import DingTalkConversation
    with session_scope(engine) as s:
        ev, _ = file_manual_report(session=s, settings=settings, category=category, severity="III", description=text,
                                   source=EventSource.dingtalk, department=department, bed=bed, draft=True,
                                   reporter_name="李护士", external_ref=f"dingtalk:{conversation}")
        s.add(DingTalkConversation(conversation_id=conversation, sender_key="staff-1", event_id=ev.id, missing=missing,
                                   facts={"patient": patient} if patient else {},
                                   expires_at=utcnow() + timedelta(hours=24)))
        return ev.id


def file_stale(engine, settings) -> list[int]:
    """Run the sweep as if a day had passed: every draft is filed into the queue as 待补充."""
    from datetime import timedelta

    from models.base import utcnow
    from service.dingtalk.drafts import file_stale_drafts
    with session_scope(engine) as s:
        filed = file_stale_drafts(session=s, ttl_hours=24, settings=settings, now=utcnow() + timedelta(hours=25),
                                  data_dir=str(settings.data_dir), labels={})
        return [e.id for e in filed]
