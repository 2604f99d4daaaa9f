"""iCalendar and RSS renderings of a search."""

from __future__ import annotations

from datetime import UTC, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape as xml_escape

from django.conf import settings
from django.utils import timezone

from .importers.icalendar import escape, fold


def ics(hits, *, name: str) -> str:
    site = settings.SITE_URL.rstrip("/")
    host = site.split("//", 1)[-1].split("/")[0].split(":")[0] or "regio"
    stamp = timezone.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Regio//Débats publics//FR", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"X-WR-CALNAME:{escape(name)}", "X-WR-TIMEZONE:Europe/Paris"]
    for hit in hits:
        d = hit.debate
        link = f"{site}/debats/{d.pk}"
        description = escape(f"{d.summary}\n\nOrganisateur : {d.organiser_name}\n{link}")
        if d.opens_on:
            end = (d.closes_on or d.opens_on) + timedelta(days=1)
            lines += ["BEGIN:VEVENT", f"UID:debat-{d.pk}@{host}", f"DTSTAMP:{stamp}",
                      f"DTSTART;VALUE=DATE:{d.opens_on:%Y%m%d}", f"DTEND;VALUE=DATE:{end:%Y%m%d}",
                      f"SUMMARY:{escape(d.title)}", f"DESCRIPTION:{description}", f"URL:{link}"]
            if d.address:
                lines.append(f"LOCATION:{escape(d.address)}")
            if d.lat is not None:
                lines.append(f"GEO:{d.lat:.6f};{d.lon:.6f}")
            lines.append("END:VEVENT")
        for m in d.meetings.all():
            lines += ["BEGIN:VEVENT", f"UID:reunion-{m.pk}@{host}", f"DTSTAMP:{stamp}",
                      f"DTSTART:{m.starts_at.astimezone(UTC):%Y%m%dT%H%M%SZ}"]
            if m.ends_at:
                lines.append(f"DTEND:{m.ends_at.astimezone(UTC):%Y%m%dT%H%M%SZ}")
            lines += [f"SUMMARY:{escape(m.title or d.title)}", f"DESCRIPTION:{escape(d.title)}\\n{link}", f"URL:{link}"]
            if m.address:
                lines.append(f"LOCATION:{escape(m.address)}")
            if m.lat is not None:
                lines.append(f"GEO:{m.lat:.6f};{m.lon:.6f}")
            lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(fold(line) for line in lines) + "\r\n"


def rss(hits, *, title: str, link: str) -> str:
    site = settings.SITE_URL.rstrip("/")
    items = []
    for hit in hits[:200]:
        d = hit.debate
        url = f"{site}/debats/{d.pk}"
        dates = ""
        if d.opens_on or d.closes_on:
            dates = f" Du {d.opens_on:%d/%m/%Y} au {d.closes_on:%d/%m/%Y}." if d.opens_on and d.closes_on else ""
        distance = f" À {hit.distance_km:.1f} km." if hit.distance_km is not None else ""
        desc = f"{d.get_kind_display()} — {d.organiser_name}.{dates}{distance} {d.summary}"
        items.append(
            "<item>"
            f"<title>{xml_escape(d.title)}</title><link>{xml_escape(url)}</link>"
            f"<guid isPermaLink=\"true\">{xml_escape(url)}</guid>"
            f"<pubDate>{format_datetime(d.created_at)}</pubDate>"
            f"<description>{xml_escape(desc)}</description>"
            + "".join(f"<category>{xml_escape(label)}</category>" for label in d.theme_labels)
            + "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>'
        f"<title>{xml_escape(title)}</title><link>{xml_escape(site + '/debats/')}</link>"
        f'<atom:link href="{xml_escape(link)}" rel="self" type="application/rss+xml"/>'
        "<description>Débats publics du territoire</description><language>fr</language>"
        + "".join(items)
        + "</channel></rss>\n"
    )
