"""Full-text search structures, each created only on its own database vendor.

SQLite: the FTS5 table ``catalog_dataset_fts`` (rowid = dataset id; folded, stemmed text).
PostgreSQL: the ``unaccent`` extension, a ``search_vector`` column and its GIN index.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_dataset_fts USING fts5(title, body, tokenize = 'unicode61 remove_diacritics 2')"
        )
    elif vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        schema_editor.execute("ALTER TABLE catalog_dataset ADD COLUMN IF NOT EXISTS search_vector tsvector")
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS catalog_dataset_search_gin ON catalog_dataset USING gin (search_vector)"
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TABLE IF EXISTS catalog_dataset_fts")
    elif vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS catalog_dataset_search_gin")
        schema_editor.execute("ALTER TABLE catalog_dataset DROP COLUMN IF EXISTS search_vector")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
