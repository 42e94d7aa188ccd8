"""Alembic migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlmodel import SQLModel

import models  # noqa: F401
from service.db import make_engine, upgrade


def test_migrations_match_models(tmp_path, db_url):
    if db_url.startswith("postgres"):
        eng = make_engine(db_url)
        with eng.begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
        eng.dispose()
        url = db_url
    else:
        url = f"sqlite:///{tmp_path}/mig.db"
    upgrade(url)
    upgrade(url)  # idempotent
    eng = make_engine(url)
    with eng.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), SQLModel.metadata)
    eng.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
