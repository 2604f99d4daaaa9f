from django.dispatch import Signal

# Sent after reference data was (re)loaded; receivers get ``region_code`` and ``all_france``.
territory_loaded = Signal()
