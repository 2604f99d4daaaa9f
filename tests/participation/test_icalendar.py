"""The RFC 5545 reader. No real collectivité .ics feed exists in ../shared: the calendars below are
written for these tests, one RFC feature at a time (folding, TZID, RRULE, EXDATE, RECURRENCE-ID)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from regio.participation.importers.icalendar import ICalError, fold, parse_calendar, parse_components

PARIS = ZoneInfo("Europe/Paris")
W_START = datetime(2026, 1, 1, tzinfo=UTC)
W_END = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)


def cal(*events: str, extra: str = "") -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//FR\r\n{extra}{body}END:VCALENDAR\r\n"


def parse(text, start=W_START, end=W_END):
    return parse_calendar(text, start, end)


def test_unfolding_escapes_and_quoted_params():
    text = cal(
        "UID:a\r\nDTSTART:20260310T180000Z\r\nSUMMARY:Réunion publique sur le\r\n  plan de mobilité\r\n"
        'LOCATION;ALTREP="http://x.test/a:b;c":Mairie\\, salle 2\\; 1er étage\r\nDESCRIPTION:ligne 1\\nligne 2'
    )
    occ = parse(text).occurrences[0]
    assert occ.summary == "Réunion publique sur le plan de mobilité"
    assert occ.location == "Mairie, salle 2; 1er étage"
    assert occ.description == "ligne 1\nligne 2"


def test_tzid_utc_floating_and_all_day():
    text = cal(
        "UID:tz\r\nDTSTART;TZID=Europe/Paris:20260705T183000\r\nDTEND;TZID=Europe/Paris:20260705T200000",
        "UID:utc\r\nDTSTART:20260105T100000Z\r\nDURATION:PT1H30M",
        "UID:float\r\nDTSTART:20260106T090000",
        "UID:day\r\nDTSTART;VALUE=DATE:20260107",
        "UID:win\r\nDTSTART;TZID=Romance Standard Time:20260108T090000",
    )
    occ = {o.uid: o for o in parse(text).occurrences}
    assert occ["tz"].start == datetime(2026, 7, 5, 16, 30, tzinfo=UTC)  # CEST = UTC+2
    assert occ["tz"].end - occ["tz"].start == occ["utc"].end - occ["utc"].start
    assert occ["utc"].end == datetime(2026, 1, 5, 11, 30, tzinfo=UTC)
    assert occ["float"].start == datetime(2026, 1, 6, 9, 0, tzinfo=PARIS)  # floating → calendar's zone
    assert occ["day"].all_day and occ["day"].end == datetime(2026, 1, 8, 0, 0, tzinfo=PARIS)
    assert occ["win"].start == datetime(2026, 1, 8, 8, 0, tzinfo=UTC)


def test_weekly_rrule_keeps_wall_clock_across_daylight_saving():
    text = cal("UID:w\r\nDTSTART;TZID=Europe/Paris:20260319T180000\r\nRRULE:FREQ=WEEKLY;BYDAY=TH;COUNT=3")
    starts = [o.start for o in parse(text).occurrences]
    assert [s.astimezone(PARIS).strftime("%d/%m %H:%M") for s in starts] == ["19/03 18:00", "26/03 18:00", "02/04 18:00"]
    assert starts[0].astimezone(UTC).hour == 17 and starts[2].astimezone(UTC).hour == 16  # CET then CEST


def test_monthly_by_ordinal_day_until_and_exdate():
    text = cal(
        "UID:m\r\nDTSTART;TZID=Europe/Paris:20260105T190000\r\nRRULE:FREQ=MONTHLY;BYDAY=1TH,-1FR;UNTIL=20260430T235959Z\r\n"
        "EXDATE;TZID=Europe/Paris:20260227T190000"
    )
    days = [o.start.astimezone(PARIS).strftime("%d/%m") for o in parse(text).occurrences]
    # 1st Thursday and last Friday of Jan–Apr 2026 (01/01 is before DTSTART), minus 27/02.
    assert days == ["30/01", "05/02", "05/03", "27/03", "02/04", "24/04"]


def test_yearly_and_daily_interval_and_bymonthday():
    text = cal(
        "UID:y\r\nDTSTART;VALUE=DATE:20200614\r\nRRULE:FREQ=YEARLY",
        "UID:d\r\nDTSTART:20261220T080000Z\r\nRRULE:FREQ=DAILY;INTERVAL=5",
        "UID:md\r\nDTSTART:20260131T080000Z\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3",
    )
    occ = parse(text).occurrences
    assert [o.start.date().isoformat() for o in occ if o.uid == "y"] == ["2026-06-14"]  # only inside the window
    assert [o.start.day for o in occ if o.uid == "d"] == [20, 25, 30]
    assert [o.start.date().isoformat() for o in occ if o.uid == "md"] == ["2026-01-31", "2026-02-28", "2026-03-31"]


def test_unbounded_rule_is_limited_to_the_window():
    text = cal("UID:inf\r\nDTSTART:20260101T080000Z\r\nRRULE:FREQ=DAILY")
    occ = parse(text, end=datetime(2026, 1, 10, 23, 0, tzinfo=UTC)).occurrences
    assert len(occ) == 10


def test_recurrence_id_overrides_and_cancelled_instances():
    text = cal(
        "UID:r\r\nDTSTART:20260302T170000Z\r\nDTEND:20260302T180000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Atelier",
        "UID:r\r\nRECURRENCE-ID:20260309T170000Z\r\nDTSTART:20260310T170000Z\r\nDTEND:20260310T190000Z\r\nSUMMARY:Atelier déplacé",
        "UID:r\r\nRECURRENCE-ID:20260316T170000Z\r\nDTSTART:20260316T170000Z\r\nSTATUS:CANCELLED",
    )
    occ = parse(text).occurrences
    assert [(o.start.day, o.summary) for o in occ] == [(2, "Atelier"), (10, "Atelier déplacé")]
    assert occ[1].end.hour == 19


def test_broken_rrule_and_unknown_timezone_are_per_event_errors():
    text = cal(
        "UID:ok\r\nDTSTART:20260301T100000Z\r\nSUMMARY:Correct",
        "UID:badfreq\r\nDTSTART:20260301T100000Z\r\nRRULE:FREQ=SOMETIMES",
        "UID:badday\r\nDTSTART:20260301T100000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=XX",
        "UID:both\r\nDTSTART:20260301T100000Z\r\nRRULE:FREQ=DAILY;COUNT=2;UNTIL=20260310T000000Z",
        "UID:badtz\r\nDTSTART;TZID=Mars/Olympus_Mons:20260301T100000",
        "UID:baddate\r\nDTSTART:2026-03-01",
    )
    result = parse(text)
    assert [o.uid for o in result.occurrences] == ["ok"]
    errors = {e.uid: (e.field, e.message) for e in result.errors}
    assert errors["badfreq"] == ("RRULE", "Règle de récurrence non prise en charge ou invalide : FREQ=SOMETIMES (attendu DAILY, WEEKLY, MONTHLY ou YEARLY).")
    assert errors["badday"][1] == "Règle de récurrence invalide : jour « XX » inconnu dans BYDAY."
    assert "COUNT et UNTIL" in errors["both"][1]
    assert errors["badtz"] == ("TZID", "Fuseau horaire inconnu « Mars/Olympus_Mons » : utilisez un identifiant IANA (ex. Europe/Paris).")
    assert "Date illisible « 2026-03-01 »" in errors["baddate"][1]


def test_malformed_files_are_refused_as_a_whole():
    with pytest.raises(ICalError, match="BEGIN:VCALENDAR absent"):
        parse_components("BEGIN:VEVENT\r\nEND:VEVENT\r\n")
    with pytest.raises(ICalError, match="tronqué"):
        parse_components("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n")


def test_fold_respects_75_octets_and_utf8():
    line = "SUMMARY:" + "é" * 100
    folded = fold(line)
    assert all(len(part.encode()) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line
