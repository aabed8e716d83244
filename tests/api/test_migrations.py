"""Migrations: the database they build is the one the models describe, and they go down too."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from api.db import current_revision, downgrade, make_engine, upgrade
from api.models import Base


def test_migrations_match_the_models_and_downgrade(db_url):
    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": False}), Base.metadata)
    assert diff == [], diff  # a model change without its migration
    head = current_revision(engine)
    downgrade(engine, "base")
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head == "0007"
    engine.dispose()
