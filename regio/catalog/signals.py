"""Signals of the catalogue."""

from django.dispatch import Signal

# Sent by services.save_harvested_datasets after a bulk write (which sends no post_save per dataset):
# sender=Dataset, dataset_ids=[…] (created or updated). Receivers that need the committed rows use
# transaction.on_commit.
datasets_bulk_saved = Signal()
