"""Migrations: the database they build is the one the models describe, and they go down too."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

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
    assert current_revision(engine) == head == "0009"
    engine.dispose()


def test_the_check_outs_reports_become_visits(db_url):
    """0008 keeps each check-out's report of 0007 as a made visit (its check-in unknown: taken
    as the check-out), and going down keeps them as reports again."""
    engine = make_engine(db_url)
    upgrade(engine, "0007")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO visit_reports (store_id, rep_id, date, plan_id, checked_out_at, outcome, "
                                "order_value, note, steps) VALUES ('S1', 'R1', '2026-12-07', NULL, '2026-12-07 09:30:00', "
                                "'order', 12.5, 'ok', '[\"enter\"]')"))
    upgrade(engine)
    with engine.connect() as connection:
        row = connection.execute(text("SELECT id, rep_id, store_id, date, checked_in_at, checked_out_at, outcome, order_value, "
                                      "note, far, source FROM visits")).one()
    assert row[0].startswith("report:") and tuple(row[1:4]) == ("R1", "S1", "2026-12-07")
    assert row[4] == row[5] and (row[6], row[7], row[8], bool(row[9]), row[10]) == ("order", 12.5, "ok", False, "app")
    downgrade(engine, "0007")
    with engine.connect() as connection:
        assert connection.execute(text("SELECT store_id, outcome FROM visit_reports")).all() == [("S1", "order")]
    engine.dispose()
