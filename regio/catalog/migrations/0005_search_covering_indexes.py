"""Covering indexes for the search (see regio.catalog.search / selectors.search_datasets).

* Resource (dataset, format): the format facet is counted from the matched ids, index only.
* SQLite only: ``catalog_dataset_search_cover`` on (id, status, moderation, publisher_id, licence,
  origin, popularity, metadata_modified_at, conforms_to). A full-text match gives dataset ids; the
  visibility test, the single-valued facets and the relevance sort then read this narrow index
  instead of the wide table rows (the description precedes those columns in the row, often on
  overflow pages). PostgreSQL reads them from the heap tuples its bitmap scan visits anyway.
"""

from django.db import migrations, models

COVER = (
    "CREATE INDEX IF NOT EXISTS catalog_dataset_search_cover ON catalog_dataset "
    "(id, status, moderation, publisher_id, licence, origin, popularity, metadata_modified_at, conforms_to)"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(COVER)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP INDEX IF EXISTS catalog_dataset_search_cover")


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0004_regional_theme"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="resource",
            index=models.Index(fields=["dataset", "format"], name="catalog_res_dataset_format"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
