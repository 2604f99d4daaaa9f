"""Decidim's public GraphQL API (``POST /api``): queries and the mapping of its answers.

The queries use the field names of Decidim's own GraphQL type definitions (decidim-core
``TranslatedFieldType`` / ``ParticipatorySpaceInterface`` / ``ComponentInterface``,
decidim-participatory_processes ``ParticipatoryProcessType``, decidim-assemblies ``AssemblyType``,
decidim-meetings ``MeetingsType`` / ``MeetingType``, decidim-debates ``DebatesType`` / ``DebateType``):
one small query lists the spaces, then one query per space (one ingest page each, so a run can
resume after the last space it committed), and follow-up queries for the next pages of a
component's meetings (Relay connection: ``first`` / ``after`` / ``pageInfo``).

Scopes: ``metaScope`` and ``localArea`` (free translated text on every Decidim version) are
resolved to communes by name when they name one.
"""

from __future__ import annotations

from datetime import date, datetime

from django.utils.dateparse import parse_date, parse_datetime

TR = "translation(locale: $locale)"
MEETING_FIELDS = f"""id
        title {{ {TR} }}
        description {{ {TR} }}
        startTime
        endTime
        address
        location {{ {TR} }}
        coordinates {{ latitude longitude }}
        typeOfMeeting
        onlineMeetingUrl
        url
        isWithdrawn"""
COMPONENTS = f"""components {{
    id
    __typename
    name {{ {TR} }}
    ... on Meetings {{
      meetings(first: $pageSize) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {MEETING_FIELDS} }}
      }}
    }}
    ... on Debates {{
      debates(first: $pageSize) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ id title {{ {TR} }} description {{ {TR} }} startTime endTime }}
      }}
    }}
  }}"""
SPACE_COMMON = f"""id
  slug
  title {{ {TR} }}
  subtitle {{ {TR} }}
  shortDescription {{ {TR} }}
  description {{ {TR} }}
  metaScope {{ {TR} }}
  localArea {{ {TR} }}
  developerGroup {{ {TR} }}"""

SPACES_QUERY = """query RegioSpaces {
  participatoryProcesses { id }
  assemblies { id }
}"""

PROCESS_QUERY = f"""query RegioProcess($id: ID!, $locale: String!, $pageSize: Int!) {{
  participatoryProcess(id: $id) {{
  {SPACE_COMMON}
  startDate
  endDate
  {COMPONENTS}
  }}
}}"""

ASSEMBLY_QUERY = f"""query RegioAssembly($id: ID!, $locale: String!, $pageSize: Int!) {{
  assembly(id: $id) {{
  {SPACE_COMMON}
  creationDate
  closingDate
  url
  {COMPONENTS}
  }}
}}"""

MORE_MEETINGS_QUERY = f"""query RegioMoreMeetings($id: ID!, $after: String!, $locale: String!, $pageSize: Int!) {{
  component(id: $id) {{
    ... on Meetings {{
      meetings(first: $pageSize, after: $after) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ {MEETING_FIELDS} }}
      }}
    }}
  }}
}}"""


class DecidimError(ValueError):
    pass


def tr(value, locale: str = "fr") -> str:
    """A TranslatedField answer → text (``{"translation": ...}`` or ``{"translations": [...]}``)."""
    if not value:
        return ""
    if isinstance(value, str):
        return value
    if value.get("translation"):
        return value["translation"]
    for item in value.get("translations") or []:
        if item.get("locale") == locale and item.get("text"):
            return item["text"]
    return ""


def strip_html(text: str) -> str:
    import re
    from html import unescape

    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", text or ""))).strip()


def check_response(body: dict, what: str) -> dict:
    if not isinstance(body, dict):
        raise DecidimError(f"Réponse GraphQL inattendue pour {what} : un objet JSON était attendu.")
    errors = body.get("errors") or []
    if errors:
        messages = "; ".join(str(e.get("message", e)) for e in errors[:3])
        raise DecidimError(f"L'instance Decidim a renvoyé une erreur GraphQL pour {what} : {messages}")
    data = body.get("data")
    if not isinstance(data, dict):
        raise DecidimError(f"Réponse GraphQL sans données pour {what}.")
    return data


def _date(value) -> date | None:
    return parse_date(value[:10]) if isinstance(value, str) and value else None


def _datetime(value) -> datetime | None:
    if not value:
        return None
    parsed = parse_datetime(value)
    if parsed is None:
        raise DecidimError(f"Date et heure illisible « {value} ».")
    return parsed


def meeting_record(node: dict, locale: str) -> dict | None:
    if node.get("isWithdrawn"):
        return None
    coords = node.get("coordinates") or {}
    online = (node.get("typeOfMeeting") or "").lower() == "online"
    address = node.get("address") or ""
    location = tr(node.get("location"), locale)
    return {
        "remote_id": f"meeting:{node['id']}",
        "title": tr(node.get("title"), locale),
        "starts_at": _datetime(node.get("startTime")),
        "ends_at": _datetime(node.get("endTime")),
        "address": ", ".join(p for p in (location, address) if p) if address else "",
        "lat": coords.get("latitude"),
        "lon": coords.get("longitude"),
        "online": online,
        "url": node.get("onlineMeetingUrl") or node.get("url") or "",
    }


def space_records(space: dict, kind: str, base_url: str, locale: str, meetings: list[dict]) -> list[tuple[str, dict]]:
    """(remote_id, normalised debate) for the space itself and for each Decidim debate it holds."""
    path = "processes" if kind == "process" else "assemblies"
    url = space.get("url") or f"{base_url.rstrip('/')}/{path}/{space.get('slug')}"
    components = space.get("components") or []
    typenames = {c.get("__typename") for c in components}
    opens = _date(space.get("startDate") or space.get("creationDate"))
    closes = _date(space.get("endDate") or space.get("closingDate"))
    summary = tr(space.get("shortDescription"), locale) or tr(space.get("subtitle"), locale) or tr(space.get("description"), locale)
    scope_names = [t for t in (tr(space.get("metaScope"), locale), tr(space.get("localArea"), locale)) if t]
    out = [
        (
            f"{kind}:{space['id']}",
            {
                "title": tr(space.get("title"), locale),
                "summary": strip_html(summary)[:4000],
                "kind": "budget" if "Budgets" in typenames else "concertation",
                "opens_on": opens,
                "closes_on": closes,
                "url": url,
                "online": True,
                "scope_names": scope_names,
                "organiser_name": strip_html(tr(space.get("developerGroup"), locale)),
                "meetings": [m for m in meetings if m],
            },
        )
    ]
    for component in components:
        if component.get("__typename") != "Debates":
            continue
        for node in (component.get("debates") or {}).get("nodes") or []:
            start, end = _datetime(node.get("startTime")), _datetime(node.get("endTime"))
            out.append(
                (
                    f"debate:{node['id']}",
                    {
                        "title": tr(node.get("title"), locale),
                        "summary": strip_html(tr(node.get("description"), locale))[:4000],
                        "kind": "concertation",
                        "opens_on": start.date() if start else opens,
                        "closes_on": end.date() if end else closes,
                        "url": f"{url}/f/{component['id']}/debates/{node['id']}",
                        "online": True,
                        "scope_names": scope_names,
                        "organiser_name": strip_html(tr(space.get("developerGroup"), locale)),
                        "meetings": None,
                    },
                )
            )
    return out
