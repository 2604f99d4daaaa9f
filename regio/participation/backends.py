"""The debates registry's ingest backends (registered in ``apps.py``): Decidim, iCalendar, CSV/XLSX."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date

from regio.core.http import FetchError
from regio.core.ingest.models import Item
from regio.core.ingest.registry import IngestBackend, IngestError, IngestItemError, Page, Record, RecordError
from regio.core.text import normalize_text
from regio.territory.selectors import communes

from . import services
from .importers import decidim, decidim_opendata, icalendar, table
from .models import Debate

FEED_ID = "#calendrier"


def _codes_for_names(names: list[str]) -> list[str]:
    codes = []
    for name in names:
        needle = normalize_text(name)
        commune = communes().filter(name_search=needle).order_by("-population").first() if needle else None
        if commune:
            codes.append(commune.code)
    return codes


def _archive_target(item) -> None:
    target = item.target
    if isinstance(target, Debate) and target.origin_source_id == item.source_id:
        services.archive_imported_debate(target)


class DecidimBackend(IngestBackend):
    label = "Decidim (API GraphQL)"

    def _post(self, fetch, endpoint: str, query: str, variables: dict, what: str) -> dict:
        result = fetch(endpoint, method="POST", json_body={"query": query, "variables": variables},
                       headers={"Accept": "application/json", "Content-Type": "application/json"})
        try:
            return decidim.check_response(result.json(), what)
        except decidim.DecidimError as exc:
            raise IngestError(str(exc))

    def pages(self, source, cursor, fetch):
        options = source.filters or {}
        locale = options.get("locale", "fr")
        page_size = int(options.get("page_size", 50))
        start = int(cursor or 0)
        base_url = options.get("base_url") or source.url.removesuffix("/").removesuffix("/api")
        path = fetch.local_path()
        if path is not None:  # a saved answer of the full query (demo, offline instances)
            try:
                data = decidim.check_response(json.loads(path.read_text(encoding="utf-8")), f"le fichier {path.name}")
            except (ValueError, decidim.DecidimError) as exc:
                raise IngestError(f"Fichier Decidim illisible : {exc}")
            spaces = [("process", s) for s in data.get("participatoryProcesses") or []]
            spaces += [("assembly", s) for s in data.get("assemblies") or []]
            for index in range(start, len(spaces)):
                kind, space = spaces[index]
                yield self._page(kind, space, base_url, locale, str(index + 1))
            return
        listing = self._post(fetch, source.url, decidim.SPACES_QUERY, {}, "la liste des espaces participatifs")
        ids = [("process", s["id"]) for s in listing.get("participatoryProcesses") or []]
        ids += [("assembly", s["id"]) for s in listing.get("assemblies") or []]
        for index in range(start, len(ids)):
            kind, space_id = ids[index]
            query = decidim.PROCESS_QUERY if kind == "process" else decidim.ASSEMBLY_QUERY
            variables = {"id": space_id, "locale": locale, "pageSize": page_size}
            data = self._post(fetch, source.url, query, variables, f"l'espace {kind} {space_id}")
            space = data.get("participatoryProcess" if kind == "process" else "assembly")
            if not space:
                yield Page([], cursor=str(index + 1))
                continue
            for component in space.get("components") or []:
                meetings = component.get("meetings") or {}
                while (meetings.get("pageInfo") or {}).get("hasNextPage"):
                    more = self._post(
                        fetch, source.url, decidim.MORE_MEETINGS_QUERY,
                        {"id": component["id"], "after": meetings["pageInfo"]["endCursor"], "locale": locale, "pageSize": page_size},
                        f"les réunions du composant {component['id']}",
                    )
                    nxt = (more.get("component") or {}).get("meetings") or {}
                    meetings["nodes"] = (meetings.get("nodes") or []) + (nxt.get("nodes") or [])
                    meetings["pageInfo"] = nxt.get("pageInfo") or {}
            yield self._page(kind, space, base_url, locale, str(index + 1))

    def _page(self, kind, space, base_url, locale, cursor) -> Page:
        remote = f"{kind}:{space.get('id')}"
        try:
            meetings = []
            for component in space.get("components") or []:
                for node in (component.get("meetings") or {}).get("nodes") or []:
                    meetings.append(decidim.meeting_record(node, locale))
            records = [Record(rid, payload) for rid, payload in decidim.space_records(space, kind, base_url, locale, meetings)]
        except (decidim.DecidimError, KeyError, TypeError, ValueError) as exc:
            return Page([], cursor=cursor, errors=[RecordError(remote, f"Espace Decidim illisible : {exc}")])
        return Page(records, cursor=cursor)

    def upsert(self, source, record):
        data = dict(record.payload)
        data["territory_codes"] = _codes_for_names(data.pop("scope_names", []))
        if len(data["territory_codes"]) == 1:  # the space's scope names one commune: place it there
            data["commune_code"] = data["territory_codes"][0]
        if not data.get("organiser_name") and source.owner:
            data["organiser_name"] = source.owner.name
        for meeting in data.get("meetings") or []:
            if meeting["starts_at"] is None:
                raise IngestItemError("Réunion sans date de début.", field="startTime")
        return services.upsert_imported_debate(source, record.remote_id, data)

    def archive(self, source, item):
        _archive_target(item)


def _window(options) -> tuple[datetime, datetime]:
    now = timezone.now()
    start = parse_date(options.get("window_start", "") or "") or (now - timedelta(days=30)).date()
    end = parse_date(options.get("window_end", "") or "") or (now + timedelta(days=365)).date()
    tz = timezone.get_current_timezone()
    return datetime.combine(start, time.min, tz), datetime.combine(end, time.max, tz)


class ICalendarBackend(IngestBackend):
    """A collectivité's agenda: the feed is one debate, its events become the debate's meetings."""

    label = "Agenda iCalendar"

    def pages(self, source, cursor, fetch):
        options = source.filters or {}
        text = fetch.document().text()
        window_start, window_end = _window(options)
        try:
            cal = icalendar.parse_calendar(text, window_start, window_end)
        except icalendar.ICalError as exc:
            raise IngestError(f"Calendrier iCalendar illisible : {exc}")
        by_uid: dict[str, list] = defaultdict(list)
        for occ in cal.occurrences:
            by_uid[occ.uid].append(
                {
                    "remote_id": occ.key, "title": occ.summary, "starts_at": occ.start, "ends_at": occ.end,
                    "address": occ.location, "lat": occ.geo[0] if occ.geo else None,
                    "lon": occ.geo[1] if occ.geo else None, "url": occ.url,
                    "online": not occ.location and bool(occ.url),
                }
            )
        debate = dict(options.get("debate") or {})
        starts = [o.start for o in cal.occurrences]
        feed = {
            "title": debate.get("title") or cal.name or source.name,
            "summary": debate.get("summary") or cal.description,
            "kind": debate.get("kind") or Debate.Kind.MEETING,
            "themes": debate.get("themes") or [],
            "url": debate.get("url") or (source.url if source.url.startswith("http") else ""),
            "commune_code": debate.get("commune") or "",
            "address": debate.get("address") or "",
            "opens_on": debate.get("opens_on") or (timezone.localtime(min(starts)).date().isoformat() if starts else None),
            "closes_on": debate.get("closes_on") or (timezone.localtime(max(starts)).date().isoformat() if starts else None),
            "meetings": None,
        }
        records = [Record(FEED_ID, feed)] + [Record(uid, {"uid": uid, "occurrences": occs}) for uid, occs in by_uid.items()]
        errors = [RecordError(e.uid, f"Événement ignoré : {e.message}", e.field) for e in cal.errors]
        yield Page(records, cursor="", errors=errors)

    def _feed_debate(self, source) -> Debate:
        item = Item.objects.filter(source=source, remote_id=FEED_ID).first()
        target = item.target if item else None
        if not isinstance(target, Debate):
            raise IngestItemError("Le débat du calendrier n'a pas pu être créé.", field="VCALENDAR")
        return target

    def upsert(self, source, record):
        if record.remote_id == FEED_ID:
            return services.upsert_imported_debate(source, FEED_ID, record.payload)
        debate = self._feed_debate(source)
        keys = []
        for occ in record.payload["occurrences"]:
            services._save_meeting(debate, occ)
            keys.append(occ["remote_id"])
        debate.meetings.filter(remote_id__startswith=f"{record.remote_id}@").exclude(remote_id__in=keys).delete()
        return f"{debate.pk}:{record.remote_id}"

    def archive(self, source, item):
        if item.remote_id == FEED_ID:
            _archive_target(item)
            return
        debate_id = item.target_key.split(":", 1)[0]
        if debate_id.isdigit():
            from .models import Meeting

            Meeting.objects.filter(debate_id=int(debate_id), remote_id__startswith=f"{item.remote_id}@").delete()


def _float(value, field):
    if value in (None, ""):
        return None
    try:
        return float(str(value).replace(",", ".").strip())
    except ValueError:
        raise IngestItemError(f"Nombre illisible « {value} ».", field=field)


class TableBackend(IngestBackend):
    """The CSV/XLSX bulk template (``regio.participation.importers.table``)."""

    label = "Tableur (modèle CSV ou XLSX)"
    page_size = 100

    def pages(self, source, cursor, fetch):
        path = fetch.local_path()
        if path is None:
            result = fetch.document()
            path = result.path
            if path is None:
                import tempfile
                from pathlib import Path

                suffix = ".xlsx" if result.url.lower().endswith(".xlsx") else ".csv"
                handle = tempfile.NamedTemporaryFile(suffix=suffix, delete=False)
                handle.write(result.content)
                handle.close()
                path = Path(handle.name)
        try:
            rows = table.read_rows(path)
        except table.TableError as exc:
            raise IngestError(str(exc))
        start = int(cursor or 0)
        for index in range(start, len(rows), self.page_size):
            chunk = rows[index : index + self.page_size]
            records = []
            for row in chunk:
                remote = str(row.get("identifiant") or "").strip() or (
                    f"{normalize_text(str(row.get('titre', '')))}|{row.get('ouverture', '')}"
                )
                records.append(Record(remote, {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}))
            yield Page(records, cursor=str(index + len(chunk)))

    def upsert(self, source, record):
        row = record.payload
        line = row.get("_line")
        try:
            themes = [t for t in str(row.get("themes") or "").replace(",", ";").split(";") if t.strip()]
            data = {
                "title": str(row.get("titre") or "").strip(),
                "summary": str(row.get("resume") or ""),
                "kind": str(row.get("type") or "").strip().lower() or Debate.Kind.CONCERTATION,
                "themes": themes,
                "address": str(row.get("adresse") or ""),
                "commune_code": str(row.get("commune") or "").strip(),
                "lat": _float(row.get("latitude"), "latitude"),
                "lon": _float(row.get("longitude"), "longitude"),
                "online": str(row.get("en_ligne") or "").strip().lower() in ("oui", "o", "1", "true", "x", "vrai"),
                "opens_on": row.get("ouverture") or None,
                "closes_on": row.get("cloture") or None,
                "url": str(row.get("lien") or ""),
                "results_url": str(row.get("lien_resultats") or ""),
            }
            return services.upsert_imported_debate(source, record.remote_id, data)
        except IngestItemError as exc:
            raise IngestItemError(f"Ligne {line} : {exc}", field=exc.field)
        except services.ValidationError as exc:
            field = ", ".join(getattr(exc, "error_dict", {}) or [])
            raise IngestItemError(f"Ligne {line} : {' ; '.join(exc.messages)}", field=field)

    def archive(self, source, item):
        _archive_target(item)


class DecidimOpenDataBackend(IngestBackend):
    """Decidim's open-data zip (``/open-data/download``): the simpler, no-GraphQL path."""

    label = "Decidim (export open data)"

    def pages(self, source, cursor, fetch):
        result = fetch.document()
        data = result.path.read_bytes() if result.path else result.content
        try:
            records, errors = decidim_opendata.parse_export(data, (source.filters or {}).get("locale", "fr"))
        except decidim_opendata.OpenDataError as exc:
            raise IngestError(str(exc))
        yield Page([Record(rid, payload) for rid, payload in records], cursor="",
                   errors=[RecordError(rid, message) for rid, message in errors])

    def upsert(self, source, record):
        data = dict(record.payload)
        if not data.get("organiser_name") and source.owner:
            data["organiser_name"] = source.owner.name
        return services.upsert_imported_debate(source, record.remote_id, data)

    def archive(self, source, item):
        _archive_target(item)


def register_backends() -> None:
    from regio.core.ingest import registry

    registry.register("decidim", DecidimBackend())
    registry.register("decidim-opendata", DecidimOpenDataBackend())
    registry.register("icalendar", ICalendarBackend())
    registry.register("debats-tableur", TableBackend())


__all__ = ["DecidimBackend", "ICalendarBackend", "TableBackend", "register_backends", "FetchError"]
