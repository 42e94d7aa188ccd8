"""Alembic migrations build exactly the schema the models describe (on SQLite and PostgreSQL)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import models  # noqa: F401
from service.db import make_engine, upgrade
from tests.conftest import empty_database_url


def test_migrations_match_models(tmp_path, db_url):
    url = empty_database_url(db_url, tmp_path, "mig")
    upgrade(url)
    upgrade(url)  # idempotent
    eng = make_engine(url)
    with eng.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), SQLModel.metadata)
    eng.dispose()
    assert diff == [], f"models and migrations differ: {diff}"
