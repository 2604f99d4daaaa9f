"""An RFC 5545 (iCalendar) reader written for Regio: no third-party parser.

Covers what collectivités' agenda feeds use: line unfolding (§3.1), parameters and quoted values,
TEXT escapes (§3.3.11), DATE / DATE-TIME in UTC, floating or with ``TZID`` (resolved with
:mod:`zoneinfo`, plus the usual Windows zone names), DURATION, ``RRULE`` (FREQ DAILY / WEEKLY /
MONTHLY / YEARLY with INTERVAL, COUNT, UNTIL, BYDAY with ordinals, BYMONTHDAY, BYMONTH, BYSETPOS)
expanded only inside a window, ``EXDATE``, ``RDATE`` and overridden instances (``RECURRENCE-ID``).
A broken rule or an unknown time zone is an error for that event only.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_OCCURRENCES = 1000
WEEKDAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
WINDOWS_ZONES = {
    "Romance Standard Time": "Europe/Paris",
    "W. Europe Standard Time": "Europe/Berlin",
    "GMT Standard Time": "Europe/London",
    "UTC": "UTC",
}


class ICalError(ValueError):
    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.field = field


@dataclass
class Prop:
    name: str
    params: dict[str, str]
    value: str


@dataclass
class Component:
    name: str
    props: list[Prop] = field(default_factory=list)
    children: list[Component] = field(default_factory=list)

    def get(self, name: str) -> Prop | None:
        return next((p for p in self.props if p.name == name), None)

    def all(self, name: str) -> list[Prop]:
        return [p for p in self.props if p.name == name]

    def text(self, name: str) -> str:
        prop = self.get(name)
        return unescape(prop.value) if prop else ""


@dataclass
class Occurrence:
    uid: str
    start: datetime
    end: datetime | None
    all_day: bool
    summary: str
    description: str = ""
    location: str = ""
    url: str = ""
    geo: tuple[float, float] | None = None
    categories: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.uid}@{self.start.astimezone(UTC):%Y%m%dT%H%M%SZ}"


@dataclass
class EventError:
    uid: str
    message: str
    field: str = ""


@dataclass
class Calendar:
    name: str
    description: str
    timezone: str
    occurrences: list[Occurrence]
    errors: list[EventError]


def unfold(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"\n[ \t]", "", text)
    return [line for line in text.split("\n") if line.strip()]


def parse_line(line: str) -> Prop:
    # name *(";" param) ":" value — a ':' or ';' inside a quoted parameter value does not count.
    i, n, in_quotes = 0, len(line), False
    while i < n:
        c = line[i]
        if c == '"':
            in_quotes = not in_quotes
        elif c == ":" and not in_quotes:
            break
        i += 1
    if i >= n:
        raise ICalError(f"Ligne iCalendar invalide (pas de « : ») : {line[:60]}")
    head, value = line[:i], line[i + 1 :]
    parts, current, in_quotes = [], "", False
    for c in head:
        if c == '"':
            in_quotes = not in_quotes
            current += c
        elif c == ";" and not in_quotes:
            parts.append(current)
            current = ""
        else:
            current += c
    parts.append(current)
    params = {}
    for raw in parts[1:]:
        key, _, val = raw.partition("=")
        params[key.upper()] = val.strip('"')
    return Prop(parts[0].upper(), params, value)


def unescape(value: str) -> str:
    return re.sub(r"\\([nN\\;,])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value).strip()


def parse_components(text: str) -> Component:
    root = Component("ROOT")
    stack = [root]
    for line in unfold(text):
        prop = parse_line(line)
        if prop.name == "BEGIN":
            comp = Component(prop.value.upper())
            stack[-1].children.append(comp)
            stack.append(comp)
        elif prop.name == "END":
            if len(stack) == 1 or stack[-1].name != prop.value.upper():
                raise ICalError(f"Fichier iCalendar mal formé : END:{prop.value} inattendu.")
            stack.pop()
        else:
            stack[-1].props.append(prop)
    if len(stack) != 1:
        raise ICalError(f"Fichier iCalendar tronqué : BEGIN:{stack[-1].name} sans END.")
    calendars = [c for c in root.children if c.name == "VCALENDAR"]
    if not calendars:
        raise ICalError("Ce fichier n'est pas un calendrier iCalendar (BEGIN:VCALENDAR absent).")
    return calendars[0]


def zone(tzid: str, default_tz) -> ZoneInfo:
    tzid = tzid.strip().strip("/")
    name = WINDOWS_ZONES.get(tzid, tzid)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # Some producers prefix Olson names (e.g. "/mozilla.org/20050126_1/Europe/Paris").
        match = re.search(r"([A-Z][A-Za-z_]+/[A-Z][A-Za-z_]+)$", tzid)
        if match:
            try:
                return ZoneInfo(match.group(1))
            except (ZoneInfoNotFoundError, ValueError):
                pass
    raise ICalError(f"Fuseau horaire inconnu « {tzid} » : utilisez un identifiant IANA (ex. Europe/Paris).", "TZID")


def parse_datetime(value: str, params: dict, default_tz, field_name: str) -> tuple[datetime, bool]:
    """(aware datetime, all_day)."""
    value = value.strip()
    try:
        if params.get("VALUE") == "DATE" or re.fullmatch(r"\d{8}", value):
            d = datetime.strptime(value, "%Y%m%d").date()
            tz = zone(params["TZID"], default_tz) if "TZID" in params else default_tz
            return datetime.combine(d, time(0, 0), tz), True
        if value.endswith("Z"):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC), False
        naive = datetime.strptime(value, "%Y%m%dT%H%M%S")
    except ValueError:
        raise ICalError(f"Date illisible « {value} » dans {field_name} (attendu AAAAMMJJ ou AAAAMMJJTHHMMSS).", field_name)
    tz = zone(params["TZID"], default_tz) if "TZID" in params else default_tz
    return naive.replace(tzinfo=tz), False


_DURATION = re.compile(r"^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(value: str) -> timedelta:
    m = _DURATION.match(value.strip())
    if not m or value.strip() in ("P", "PT"):
        raise ICalError(f"Durée illisible « {value} » (DURATION, ex. PT1H30M).", "DURATION")
    sign = -1 if m.group(1) == "-" else 1
    w, d, h, mi, s = (int(x or 0) for x in m.groups()[1:])
    return sign * timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s)


@dataclass
class Rule:
    freq: str
    interval: int = 1
    count: int | None = None
    until: datetime | None = None
    byday: list[tuple[int, int]] = field(default_factory=list)  # (ordinal or 0, weekday)
    bymonthday: list[int] = field(default_factory=list)
    bymonth: list[int] = field(default_factory=list)
    bysetpos: list[int] = field(default_factory=list)


def parse_rrule(value: str, tz, default_tz) -> Rule:
    parts = {}
    for chunk in value.strip().split(";"):
        if not chunk:
            continue
        key, sep, val = chunk.partition("=")
        if not sep or not val:
            raise ICalError(f"Règle de récurrence illisible : « {chunk} ».", "RRULE")
        parts[key.upper()] = val.upper()
    freq = parts.get("FREQ")
    if freq not in ("DAILY", "WEEKLY", "MONTHLY", "YEARLY"):
        raise ICalError(
            f"Règle de récurrence non prise en charge ou invalide : FREQ={freq or '(absent)'} "
            "(attendu DAILY, WEEKLY, MONTHLY ou YEARLY).", "RRULE"
        )
    rule = Rule(freq)
    known = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}
    unknown = set(parts) - known
    if unknown:
        raise ICalError(f"Règle de récurrence non prise en charge : {', '.join(sorted(unknown))}.", "RRULE")
    try:
        rule.interval = int(parts.get("INTERVAL", "1"))
        if "COUNT" in parts:
            rule.count = int(parts["COUNT"])
        rule.bymonthday = [int(x) for x in parts["BYMONTHDAY"].split(",")] if "BYMONTHDAY" in parts else []
        rule.bymonth = [int(x) for x in parts["BYMONTH"].split(",")] if "BYMONTH" in parts else []
        rule.bysetpos = [int(x) for x in parts["BYSETPOS"].split(",")] if "BYSETPOS" in parts else []
    except ValueError:
        raise ICalError(f"Règle de récurrence invalide : nombre attendu dans « {value} ».", "RRULE")
    if rule.interval < 1 or (rule.count is not None and rule.count < 1):
        raise ICalError("Règle de récurrence invalide : INTERVAL et COUNT doivent être positifs.", "RRULE")
    if rule.count is not None and "UNTIL" in parts:
        raise ICalError("Règle de récurrence invalide : COUNT et UNTIL ne peuvent pas être utilisés ensemble.", "RRULE")
    if any(not 1 <= m <= 12 for m in rule.bymonth) or any(not 1 <= abs(d) <= 31 for d in rule.bymonthday):
        raise ICalError("Règle de récurrence invalide : mois ou jour du mois hors limites.", "RRULE")
    if "UNTIL" in parts:
        rule.until, _ = parse_datetime(parts["UNTIL"], {}, tz or default_tz, "RRULE")
        if re.fullmatch(r"\d{8}", parts["UNTIL"]):
            rule.until = rule.until + timedelta(days=1) - timedelta(seconds=1)
    for item in parts.get("BYDAY", "").split(",") if "BYDAY" in parts else []:
        m = re.fullmatch(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)", item)
        if not m:
            raise ICalError(f"Règle de récurrence invalide : jour « {item} » inconnu dans BYDAY.", "RRULE")
        rule.byday.append((int(m.group(1) or 0), WEEKDAYS[m.group(2)]))
    return rule


def _month_days(year: int, month: int, rule: Rule, start_day: int) -> list[int]:
    last = calendar.monthrange(year, month)[1]
    days: set[int] = set()
    if rule.bymonthday:
        for d in rule.bymonthday:
            day = d if d > 0 else last + 1 + d
            if 1 <= day <= last:
                days.add(day)
    if rule.byday:
        by = set()
        for ordinal, wd in rule.byday:
            matches = [d for d in range(1, last + 1) if date(year, month, d).weekday() == wd]
            if ordinal == 0:
                by.update(matches)
            elif 1 <= abs(ordinal) <= len(matches):
                by.add(matches[ordinal - 1] if ordinal > 0 else matches[ordinal])
        days = (days & by) if rule.bymonthday else by
    if not rule.bymonthday and not rule.byday:
        if start_day <= last:
            days.add(start_day)
    ordered = sorted(days)
    if rule.bysetpos:
        ordered = sorted({ordered[p - 1] if p > 0 else ordered[p] for p in rule.bysetpos if 1 <= abs(p) <= len(ordered)})
    return ordered


def expand(start: datetime, rule: Rule, window_end: datetime) -> list[datetime]:
    """Occurrence starts from ``start`` (wall-clock in its zone), stopping at COUNT/UNTIL/window end."""
    tz = start.tzinfo
    wall = start.replace(tzinfo=None)
    results: list[datetime] = []
    emitted = 0
    steps = 0

    def emit(candidate_wall: datetime) -> bool:
        nonlocal emitted
        if candidate_wall < wall:
            return True
        aware = candidate_wall.replace(tzinfo=tz)
        if rule.until and aware > rule.until:
            return False
        if aware > window_end:
            return False
        emitted += 1
        results.append(aware)
        return not (rule.count and emitted >= rule.count)

    while steps < 100_000 and len(results) < MAX_OCCURRENCES:
        steps += 1
        i = steps - 1
        if rule.freq == "DAILY":
            day = wall + timedelta(days=i * rule.interval)
            ok = (not rule.bymonth or day.month in rule.bymonth) and (
                not rule.byday or day.weekday() in {wd for _, wd in rule.byday}
            ) and (not rule.bymonthday or day.day in rule.bymonthday)
            if ok and not emit(day):
                break
            if day.replace(tzinfo=tz) > window_end:
                break
        elif rule.freq == "WEEKLY":
            week_start = wall - timedelta(days=wall.weekday()) + timedelta(weeks=i * rule.interval)
            weekdays = sorted({wd for _, wd in rule.byday}) or [wall.weekday()]
            stop = False
            for wd in weekdays:
                day = week_start + timedelta(days=wd)
                if rule.bymonth and day.month not in rule.bymonth:
                    continue
                if not emit(day):
                    stop = True
                    break
            if stop or week_start.replace(tzinfo=tz) > window_end:
                break
        else:
            if rule.freq == "MONTHLY":
                month_index = wall.month - 1 + i * rule.interval
                periods = [(wall.year + month_index // 12, month_index % 12 + 1)]
                if rule.bymonth and periods[0][1] not in rule.bymonth:
                    periods = []
                period_start = datetime(wall.year + month_index // 12, month_index % 12 + 1, 1)
            else:
                year = wall.year + i * rule.interval
                months = rule.bymonth or [wall.month]
                periods = [(year, m) for m in months]
                period_start = datetime(year, 1, 1)
            stop = False
            for year, month in periods:
                for day in _month_days(year, month, rule, wall.day):
                    if not emit(datetime(year, month, day, wall.hour, wall.minute, wall.second)):
                        stop = True
                        break
                if stop:
                    break
            if stop or period_start.replace(tzinfo=tz) > window_end:
                break
    return results


def parse_calendar(text: str, window_start: datetime, window_end: datetime, default_tz: str = "Europe/Paris") -> Calendar:
    """Every event occurrence overlapping ``[window_start, window_end]``; per-event errors collected."""
    cal = parse_components(text)
    tz_name = cal.text("X-WR-TIMEZONE") or default_tz
    try:
        default = zone(tz_name, None)
    except ICalError:
        default = ZoneInfo(default_tz)
    occurrences: list[Occurrence] = []
    errors: list[EventError] = []
    events = [c for c in cal.children if c.name == "VEVENT"]
    overrides: dict[tuple[str, datetime], Component] = {}
    masters = []
    for event in events:
        uid = event.text("UID")
        if not uid:
            errors.append(EventError(event.text("SUMMARY")[:100] or "(sans UID)", "Événement sans identifiant UID : ignoré.", "UID"))
            continue
        rid = event.get("RECURRENCE-ID")
        if rid is not None:
            try:
                overrides[(uid, parse_datetime(rid.value, rid.params, default, "RECURRENCE-ID")[0])] = event
            except ICalError as exc:
                errors.append(EventError(uid, str(exc), exc.field))
            continue
        masters.append(event)
    for event in masters:
        uid = event.text("UID")
        try:
            occurrences.extend(_event_occurrences(event, uid, default, window_start, window_end, overrides))
        except ICalError as exc:
            errors.append(EventError(uid, str(exc), exc.field))
    occurrences.sort(key=lambda o: (o.start, o.uid))
    return Calendar(cal.text("X-WR-CALNAME"), cal.text("X-WR-CALDESC"), str(default), occurrences, errors)


def _event_occurrences(event, uid, default, window_start, window_end, overrides):
    if event.text("STATUS").upper() == "CANCELLED":
        return []
    dtstart = event.get("DTSTART")
    if dtstart is None:
        raise ICalError("Événement sans date de début (DTSTART).", "DTSTART")
    start, all_day = parse_datetime(dtstart.value, dtstart.params, default, "DTSTART")
    duration = None
    if event.get("DTEND") is not None:
        prop = event.get("DTEND")
        end, _ = parse_datetime(prop.value, prop.params, default, "DTEND")
        if end < start:
            raise ICalError("La fin de l'événement (DTEND) précède son début (DTSTART).", "DTEND")
        duration = end - start
    elif event.get("DURATION") is not None:
        duration = parse_duration(event.get("DURATION").value)
    elif all_day:
        duration = timedelta(days=1)
    starts = [start]
    rrule = event.get("RRULE")
    if rrule is not None:
        rule = parse_rrule(rrule.value, start.tzinfo, default)
        starts = expand(start, rule, window_end)
    for prop in event.all("RDATE"):
        for value in prop.value.split(","):
            starts.append(parse_datetime(value, prop.params, default, "RDATE")[0])
    excluded = set()
    for prop in event.all("EXDATE"):
        for value in prop.value.split(","):
            excluded.add(parse_datetime(value, prop.params, default, "EXDATE")[0])
    found = []
    for occ_start in sorted(set(starts)):
        if occ_start in excluded:
            continue
        source = overrides.get((uid, occ_start), event)
        s, e = occ_start, (occ_start + duration) if duration else None
        if source is not event:
            o_start = source.get("DTSTART")
            if o_start is not None:
                s, _ = parse_datetime(o_start.value, o_start.params, default, "DTSTART")
                e = s + duration if duration else None
            if source.get("DTEND") is not None:
                e = parse_datetime(source.get("DTEND").value, source.get("DTEND").params, default, "DTEND")[0]
            if source.text("STATUS").upper() == "CANCELLED":
                continue
        if (e or s) < window_start or s > window_end:
            continue
        geo = None
        geo_text = source.text("GEO") or event.text("GEO")
        if geo_text:
            try:
                lat, lon = (float(x) for x in geo_text.replace(",", ";").split(";")[:2])
                geo = (lat, lon)
            except ValueError:
                raise ICalError(f"Coordonnées GEO illisibles « {geo_text} » (attendu latitude;longitude).", "GEO")
        found.append(
            Occurrence(
                uid=uid, start=s, end=e, all_day=all_day,
                summary=source.text("SUMMARY") or event.text("SUMMARY"),
                description=source.text("DESCRIPTION") or event.text("DESCRIPTION"),
                location=source.text("LOCATION") or event.text("LOCATION"),
                url=source.text("URL") or event.text("URL"),
                geo=geo,
                categories=[c.strip() for p in event.all("CATEGORIES") for c in unescape(p.value).split(",") if c.strip()],
            )
        )
    return found


# ---- writing (the /debats/export.ics feed) ------------------------------------------------------

def escape(value: str) -> str:
    return (value or "").replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never splitting a UTF-8 character."""
    out, current = [], b""
    for ch in line:
        encoded = ch.encode()
        limit = 75 if not out else 74
        if len(current) + len(encoded) > limit:
            out.append(current.decode())
            current = b""
        current += encoded
    out.append(current.decode())
    return "\r\n ".join(out)
