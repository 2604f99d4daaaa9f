"""Parser registry: ``kind -> IngestBackend``, filled by apps from their ``AppConfig.ready()``.

A backend turns a source into pages of normalised records and upserts them, one record at a time
(``upsert``) or, optionally, a page at a time (``upsert_many``, see below)::

    class MyBackend(IngestBackend):
        label = "Mon format"

        def pages(self, source, cursor, fetch):
            data = fetch.document().json()            # through regio.core.http.fetch (or the local file)
            yield Page([Record(r["id"], r) for r in data], cursor="1")

        def upsert(self, source, record):
            obj, _ = MyModel.objects.update_or_create(...)
            return obj                               # or a string key

    register("mon-format", MyBackend())
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class IngestItemError(Exception):
    """One record is wrong: the run goes on. ``str(exc)`` is French; ``field`` says where."""

    def __init__(self, message: str, *, field: str = "", remote_id: str = ""):
        super().__init__(message)
        self.field = field
        self.remote_id = remote_id


class IngestError(Exception):
    """The whole run cannot go on (unreadable response, remote errors). French message."""


class NotModified(Exception):
    """The source answered 304 Not Modified: nothing to do, nothing archived."""


@dataclass
class Record:
    remote_id: str
    payload: dict[str, Any]


@dataclass
class RecordError:
    """A record the parser could not turn into a payload (kept as an ItemError)."""

    remote_id: str
    message: str
    field: str = ""


@dataclass
class Page:
    records: list[Record]
    # Resume point *after* this page: passed back to ``pages()`` when a killed run restarts.
    cursor: str = ""
    errors: list[RecordError] = field(default_factory=list)


# Outcome of ``upsert_many`` for a record it leaves to the one-at-a-time path (``upsert``), e.g. because
# it interacts with another record of the same page: the engine upserts it after the page's bulk write.
DEFER = object()


class IngestBackend:
    label = ""

    def pages(self, source, cursor: str, fetch) -> Iterator[Page]:  # pragma: no cover - interface
        raise NotImplementedError

    def upsert(self, source, record: Record):  # pragma: no cover - interface
        """Create or update the local object; return it (a model instance) or a string key."""
        raise NotImplementedError

    # Set by backends that implement ``upsert_many``.
    bulk = False

    def upsert_many(self, source, records: list[Record]) -> list:
        """Write the new and changed records of one page in a constant number of queries.

        Returns one outcome per record, in order: the local object (model instance or string key),
        an exception instance (``IngestItemError``, ``ValidationError``…: the record was refused before
        anything was written for it) or :data:`DEFER`. Anything it *raises* makes the engine roll the
        bulk write back and upsert the page's records one at a time with ``upsert`` (a savepoint each),
        so that one bad record still never aborts the page. Only called when ``bulk`` is true.
        """
        raise NotImplementedError  # pragma: no cover - interface

    def archive(self, source, item) -> None:
        """The record vanished from a complete run: soft-delete what it became (default: nothing)."""

    def finish(self, source, run) -> None:
        """Called once after a complete, non-dry run (e.g. to recompute aggregates)."""


_backends: dict[str, IngestBackend] = {}


def register(kind: str, backend: IngestBackend) -> None:
    _backends[kind] = backend


def get(kind: str) -> IngestBackend:
    try:
        return _backends[kind]
    except KeyError:
        raise IngestError(f"Aucun analyseur n'est enregistré pour le type de source « {kind} ».") from None


def kinds() -> dict[str, str]:
    return {kind: (backend.label or kind) for kind, backend in sorted(_backends.items())}


def unregister(kind: str) -> None:
    _backends.pop(kind, None)
