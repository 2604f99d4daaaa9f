"""Decidim's open-data export: a zip of CSV files, one per resource type.

Decidim writes each resource with its serializer (``MeetingSerializer``, ``DebateSerializer``…)
flattened by ``Decidim::Exporters::CSV``: nested keys joined with ``/`` (``title/fr``,
``participatory_space/id``, ``participatory_space/url``), ``;`` as default column separator.
Files are named ``<organisation>-open-data-<resource>.csv``. Meetings carry no coordinates here:
their address is resolved to a commune. Spaces are named from ``*-participatory_processes.csv``
or ``*-assemblies.csv`` when the export has them, else from their URL.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import defaultdict
from datetime import UTC, datetime

from .decidim import strip_html


class OpenDataError(ValueError):
    pass


def _rows(archive: zipfile.ZipFile, suffix: str) -> list[dict]:
    for name in archive.namelist():
        if name.lower().endswith(suffix):
            text = archive.read(name).decode("utf-8-sig", errors="replace")
            sample = text[:4096]
            delimiter = ";" if sample.count(";") >= sample.count(",") else ","
            return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    return []


def _text(row: dict, key: str, locale: str) -> str:
    return (row.get(f"{key}/{locale}") or row.get(key) or next(
        (v for k, v in row.items() if k and k.startswith(f"{key}/") and v and "machine" not in k), "")).strip()


def _when(value: str):
    value = (value or "").strip()
    if not value:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S %Z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            parsed = datetime.strptime(value.replace(" UTC", ""), fmt.replace(" %Z", ""))
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # to_s(:db) is UTC
    raise OpenDataError(f"Date et heure illisible « {value} ».")


def parse_export(data: bytes, locale: str = "fr") -> tuple[list[tuple[str, dict]], list[tuple[str, str]]]:
    """(records, errors): one debate per participatory space (with its meetings) and per Decidim debate."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise OpenDataError("L'export open data Decidim n'est pas une archive zip lisible.")
    meetings = _rows(archive, "-meetings.csv")
    debates = _rows(archive, "-debates.csv")
    if not meetings and not debates:
        raise OpenDataError("L'archive ne contient ni fichier « …-meetings.csv » ni « …-debates.csv ».")
    spaces_info = {}
    for suffix in ("-participatory_processes.csv", "-assemblies.csv"):
        for row in _rows(archive, suffix):
            spaces_info[(row.get("url") or "").rstrip("/") or row.get("id")] = row
    errors: list[tuple[str, str]] = []
    by_space: dict[str, list[dict]] = defaultdict(list)
    for row in meetings:
        rid = f"meeting:{row.get('id')}"
        if (row.get("published") or "true").lower() == "false" or (row.get("withdrawn") or "").lower() == "true":
            continue
        try:
            start = _when(row.get("start_time"))
            if start is None:
                raise OpenDataError("Réunion sans date de début.")
            location = _text(row, "location", locale)
            address = (row.get("address") or "").strip()
            by_space[(row.get("participatory_space/url") or "").rstrip("/") or row.get("participatory_space/id", "")].append({
                "remote_id": rid, "title": _text(row, "title", locale), "starts_at": start, "ends_at": _when(row.get("end_time")),
                "address": ", ".join(p for p in (location, address) if p) if address else "",
                "online": (row.get("type_of_meeting") or "").lower() == "online", "url": row.get("url") or "",
            })
        except OpenDataError as exc:
            errors.append((rid, str(exc)))
    records: list[tuple[str, dict]] = []
    for space_key, space_meetings in by_space.items():
        info = spaces_info.get(space_key, {})
        slug = space_key.rsplit("/", 1)[-1]
        starts = [m["starts_at"] for m in space_meetings]
        records.append((f"space:{space_key}", {
            "title": _text(info, "title", locale) or f"Espace participatif « {slug} »",
            "summary": strip_html(_text(info, "short_description", locale))[:4000],
            "kind": "concertation", "url": space_key if space_key.startswith("http") else "",
            "opens_on": (info.get("start_date") or "")[:10] or min(starts).date().isoformat(),
            "closes_on": (info.get("end_date") or "")[:10] or max(starts).date().isoformat(),
            "online": True, "meetings": space_meetings,
        }))
    for row in debates:
        rid = f"debate:{row.get('id')}"
        try:
            start, end = _when(row.get("start_time")), _when(row.get("end_time"))
        except OpenDataError as exc:
            errors.append((rid, str(exc)))
            continue
        records.append((rid, {
            "title": _text(row, "title", locale), "summary": strip_html(_text(row, "description", locale))[:4000],
            "kind": "concertation", "url": row.get("url") or "", "online": True,
            "opens_on": start.date().isoformat() if start else None, "closes_on": end.date().isoformat() if end else None,
            "meetings": None,
        }))
    return records, errors
