"""The generic ingest engine (DESIGN.md, first flow): Source → fetch → parse pages → upsert → run report.

Apps plug parsers in by registering an :class:`~regio.core.ingest.registry.IngestBackend` for a
``kind`` from their ``AppConfig.ready()``; ``core`` knows no app by name.
"""
