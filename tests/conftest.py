"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL when AEW_TEST_DATABASE_URL is set),
one real Scanner per session, an app and an API key."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
PG_URL = os.environ.get("AEW_TEST_DATABASE_URL")


def _drop_postgres_schema(engine) -> None:
    with engine.begin() as c:
        c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        c.execute(text("CREATE SCHEMA public"))


def _reset_postgres(engine) -> None:
    _drop_postgres_schema(engine)
    SQLModel.metadata.create_all(engine)


def empty_database_url(db_url: str, tmp_path, name: str) -> str:
    """A URL of an EMPTY database (no tables), for tests that run the migrations or `aew db upgrade` themselves."""
    if not db_url.startswith("postgres"):
        return f"sqlite:///{tmp_path}/{name}.db"
    from service.db import make_engine
    eng = make_engine(db_url)
    _drop_postgres_schema(eng)
    eng.dispose()
    return db_url


@pytest.fixture
def db_url(tmp_path) -> str:
    """A URL of an empty, migrated-equivalent database for this test."""
    if PG_URL:
        return PG_URL
    return f"sqlite:///{tmp_path}/aew.db"


@pytest.fixture
def engine(db_url):
    from service.db import make_engine
    eng = make_engine(db_url)
    if PG_URL:
        _reset_postgres(eng)
    else:
        SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def scanner():
    """The real scanner, loaded once for the whole test session."""
    from nlp.scanner import Scanner
    return Scanner()


@pytest.fixture
def settings(db_url, tmp_path):
    from service.settings import Settings
    return Settings(database_url=db_url, log_json=False, secret_key="test-secret-key-0123456789abcdef",
                    worker_poll_seconds=0.05, job_backoff_seconds=0.01, public_base_url="http://testserver")


@pytest.fixture
def app(settings, engine, scanner):
    from service.app import create_app
    return create_app(settings, engine=engine, scanner_factory=lambda: scanner, run_background=False)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient
    with TestClient(app) as c:
        yield c


@pytest.fixture
def api_key(engine) -> str:
    from service.db import session_scope
    from service.services.accounts import create_api_client
    with session_scope(engine) as s:
        _, key = create_api_client(session=s, name="his-test")
    return key


@pytest.fixture
def auth(api_key) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"}


@pytest.fixture
def run_worker(engine, settings, scanner):
    """Process every due scan job now (deterministic stand-in for the background loop: the same Worker code)."""
    from service.worker import Worker

    def run(name: str = "test-worker") -> int:
        w = Worker(engine=engine, settings=settings, scanner_factory=lambda: scanner, name=name)
        total = 0
        while (n := w.run_once()):
            total += n
        return total
    return run
