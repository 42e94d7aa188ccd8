"""Demo data for `make run`: users for each role, an API key and synthetic notes (idempotent)."""
from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import select

from models import ApiClient, NoteCreate, Role, User
from service.db import session_scope
from service.services.accounts import create_api_client, create_user
from service.services.notes import ingest_note

DEMO_USERS = [("admin", Role.admin, None, "系统管理员"), ("quality", Role.quality_manager, None, "质控科 王老师"),
              ("ortho", Role.department_reviewer, "骨科", "骨科质控员"), ("nurse", Role.reporter, "骨科", "骨科护士")]
DEMO_PASSWORD = "demo-pass-2026"


def load_demo(*, engine, settings) -> list[str]:
    """Create demo users, a demo API key (printed) and ingest the demo notes; returns lines to print."""
    out = []
    with session_scope(engine) as s:
        for username, role, dep, full in DEMO_USERS:
            if s.exec(select(User).where(User.username == username)).first() is None:
                create_user(session=s, username=username, password=DEMO_PASSWORD, role=role, department=dep,
                            full_name=full)
                out.append(f"demo user {username} / {DEMO_PASSWORD} ({role.value})")
        if s.exec(select(ApiClient).where(ApiClient.name == "demo-emr")).first() is None:
            _, key = create_api_client(session=s, name="demo-emr")
            out.append(f"demo API key (demo-emr): {key}")
        path = Path(settings.data_dir) / "demo" / "notes.jsonl"
        n = 0
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    _, created = ingest_note(session=s, data=NoteCreate.model_validate(json.loads(line)),
                                             client_name="demo-emr", tz_name=settings.timezone)
                    n += created
        out.append(f"demo notes queued: {n}")
    return out
