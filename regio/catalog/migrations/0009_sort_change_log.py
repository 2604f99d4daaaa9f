"""SQLite only: the change log ``catalog_sortchange`` and its triggers (see regio.catalog.sort_keys)."""

from django.db import migrations

from regio.catalog import sort_keys


def forwards(apps, schema_editor):
    sort_keys.install(schema_editor.connection)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for trigger in sort_keys.TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        schema_editor.execute(f"DROP TABLE IF EXISTS {sort_keys.CHANGES_TABLE}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_search_table")]

    operations = [migrations.RunPython(forwards, backwards)]
