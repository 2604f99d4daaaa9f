"""What every harvest backend shares: page-level (bulk) upsert and archive through :mod:`regio.harvest.services`, paging guards."""

from __future__ import annotations

from regio.core.ingest.registry import IngestBackend, IngestError, IngestItemError, Record, RecordError

DEFAULT_PAGE_SIZE = 100
MAX_PAGES = 10_000


class HarvestBackend(IngestBackend):
    def pages(self, source, cursor, fetch):
        from regio.harvest.services import clear_caches

        clear_caches()  # publishers and territories are cached for one run only
        yield from self.read(source, cursor, fetch)

    def read(self, source, cursor, fetch):  # pragma: no cover - interface
        raise NotImplementedError

    bulk = True

    def upsert(self, source, record: Record):
        from regio.harvest.services import upsert_record

        return upsert_record(source, record.remote_id, record.payload)

    def upsert_many(self, source, records: list[Record]) -> list:
        from regio.harvest.services import upsert_records

        return upsert_records(source, [(r.remote_id, r.payload) for r in records])

    def archive(self, source, item) -> None:
        from regio.harvest.services import archive_origin

        archive_origin(source, item.remote_id)

    @staticmethod
    def page_size(source, default: int = DEFAULT_PAGE_SIZE) -> int:
        try:
            return max(1, min(1000, int((source.filters or {}).get("page_size", default))))
        except (TypeError, ValueError):
            return default


class LoopGuard:
    """Detects a pagination loop: a next-page pointer already followed, or a page of records already seen."""

    def __init__(self, source):
        self.source = source
        self.pointers: set[str] = set()
        self.ids: set[str] = set()
        self.pages = 0

    def pointer(self, value: str) -> None:
        self.pages += 1
        if value in self.pointers:
            raise IngestError(
                f"Boucle de pagination détectée sur la source « {self.source.name} » : la page suivante "
                f"({value[:200]}) a déjà été lue ; passage arrêté, rien n'a été archivé."
            )
        if self.pages > MAX_PAGES:
            raise IngestError(f"Plus de {MAX_PAGES} pages lues sur la source « {self.source.name} » : passage arrêté.")
        self.pointers.add(value)

    def records(self, ids: list[str]) -> None:
        if ids and all(i in self.ids for i in ids):
            raise IngestError(
                f"Boucle de pagination détectée sur la source « {self.source.name} » : la page {self.pages} ne renvoie "
                "que des jeux de données déjà lus ; passage arrêté, rien n'a été archivé."
            )
        self.ids.update(ids)


def as_list(value) -> list:
    if value is None or value == "":
        return []
    if isinstance(value, list | tuple):
        return [v for v in value if v not in (None, "")]
    return [value]


def json_of(result, what: str):
    from regio.core.http import FetchError

    try:
        return result.json()
    except FetchError as exc:
        raise IngestError(f"Réponse illisible ({what}) : {exc}") from exc


def parse_items(items, parse, remote_id, *, unreadable: str = "Jeu de données illisible") -> tuple[list[Record], list[RecordError]]:
    """The remote items of a page → (records, French per-item errors): one bad item never aborts a page.

    ``remote_id(item, index)`` gives the item's id; ``parse(item)`` its normalised record, ``None`` to
    leave it out (private, deleted, not a dataset), or raises ``IngestItemError`` (its French message
    and field are kept) or ``ValueError`` / ``TypeError`` / ``AttributeError`` ("<unreadable> : …").
    """
    records, errors = [], []
    for index, item in enumerate(items):
        rid = remote_id(item, index)
        try:
            payload = parse(item)
        except IngestItemError as exc:
            errors.append(RecordError(rid, str(exc), exc.field))
            continue
        except (ValueError, TypeError, AttributeError) as exc:
            errors.append(RecordError(rid, f"{unreadable} : {exc}"))
            continue
        if payload is not None:
            records.append(Record(rid, payload))
    return records, errors
