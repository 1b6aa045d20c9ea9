"""Migrations: one head, and the migrated schema is exactly what the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from interview.extensions import db, migrate
from interview.models.transcripts import is_search_structure


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.get_config())


def test_migrations_have_exactly_one_head(app):
    assert len(_script().get_heads()) == 1


def test_migrated_schema_matches_the_models(app):
    """After `flask db upgrade`, does autogenerate find nothing left to migrate?"""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                # full-text search structures are made by hand in the migration
                "include_name": lambda name, _type, _parents: not is_search_structure(name),
            },
        )
        assert context.get_current_revision() == _script().get_current_head()
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_downgrade_to_base_and_back(app):
    """Can the schema be taken down fully and rebuilt (so every migration's downgrade works)?"""
    downgrade(revision="base")
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() is None
    upgrade()
    with db.engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == (
            _script().get_current_head()
        )
