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


def test_single_head():
    from alembic.script import ScriptDirectory
    from service.db import alembic_config
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migrations must have one head, got {heads}"


def test_plain_head_upgrade_fresh_and_from_old_branches(tmp_path, db_url):
    """`upgrade head` works on a fresh database and on one left at the three old heads."""

    from alembic.script import ScriptDirectory
    from service.db import alembic_config
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()

    fresh = empty_database_url(db_url, tmp_path, "fresh")
    upgrade(fresh, "head")
    old = empty_database_url(db_url, tmp_path, "old")
    upgrade(old, "0002")
    upgrade(old, "0003")
    upgrade(old, "0005")
    upgrade(old)  # the default, as `aew db upgrade` uses it
    upgrade(old, "head")
    for url in (fresh, old):
        eng = make_engine(url)
        with eng.connect() as c:
            assert set(MigrationContext.configure(c).get_current_heads()) == {head}
            diff = compare_metadata(MigrationContext.configure(c, opts={"compare_type": False}), SQLModel.metadata)
        eng.dispose()
        assert diff == []
