"""The mediation workflow: allowed transitions, who may take them, deadlines."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from django.conf import settings

from .models import Status

ALLOWED = {
    Status.SUBMITTED: (Status.QUALIFIED, Status.REFUSED, Status.WITHDRAWN),
    Status.QUALIFIED: (Status.ASSIGNED, Status.REFUSED, Status.WITHDRAWN),
    Status.ASSIGNED: (Status.IN_PROGRESS, Status.RELEASED, Status.REFUSED, Status.WITHDRAWN),
    Status.IN_PROGRESS: (Status.RELEASED, Status.REFUSED, Status.WITHDRAWN),
    Status.RELEASED: (),
    Status.REFUSED: (),
    Status.WITHDRAWN: (),
}

ACTION_LABELS = {
    Status.QUALIFIED: "Qualifier la demande",
    Status.ASSIGNED: "Transmettre au producteur",
    Status.IN_PROGRESS: "Marquer en cours de préparation",
    Status.RELEASED: "Indiquer les données publiées",
    Status.REFUSED: "Refuser (motif légal obligatoire)",
    Status.WITHDRAWN: "Retirer la demande",
}


def add_one_month(day: date) -> date:
    """Same day next month (clamped to the month's end), as for a CADA request's one-month answer."""
    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def deadlines(submitted: date) -> tuple[date, date]:
    internal_days = int(getattr(settings, "DATAREQUESTS_INTERNAL_DAYS", 15))
    return add_one_month(submitted), submitted + timedelta(days=internal_days)


def forbidden_message(current: str, target: str) -> str:
    cur, tgt = Status(current).label.lower(), Status(target).label.lower()
    if not ALLOWED[Status(current)]:
        return f"Cette demande est close (« {cur} ») : elle ne peut plus passer à l'état « {tgt} »."
    allowed = ", ".join(f"« {Status(s).label.lower()} »" for s in ALLOWED[Status(current)])
    return f"Transition interdite : une demande « {cur} » ne peut pas passer à l'état « {tgt} » (possible : {allowed})."
