"""Fast multi-row INSERT for backends that write many rows per page (``upsert_many``).

``bulk_create`` builds model instances and compiles one statement per batch (999 parameters at most
on SQLite): for tens of thousands of small rows (keywords, territories, resource URLs…) most of the
time goes there. :func:`insert_rows` takes plain tuples and runs one prepared statement with
``executemany``; the fields not given get their default (callable defaults per row, ``auto_now`` and
``auto_now_add`` fields the current time), so a field added to the model later keeps working.
On PostgreSQL the rows go through ``COPY … FROM STDIN``.
No primary keys are returned: :func:`insert_objects` inserts model instances and gives them theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.utils import timezone

# Values of these field types go to the database as they are (no conversion needed by any backend).
PLAIN_TYPES = {
    "CharField", "TextField", "SlugField", "URLField", "EmailField", "IntegerField", "PositiveIntegerField",
    "BigIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "PositiveBigIntegerField",
    "BooleanField", "ForeignKey",
}


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence], *, using=None) -> int:
    """INSERT ``rows`` (tuples of values for ``fields``, foreign keys as ids) into ``model``'s table."""
    conn = connections[using or DEFAULT_DB_ALIAS]
    opts = model._meta
    given = [opts.get_field(name) for name in fields]
    given_names = {f.name for f in given}
    missing = [f for f in opts.concrete_fields if not f.primary_key and f.name not in given_names]
    columns = [f.column for f in given + missing]
    converters = [None if f.get_internal_type() in PLAIN_TYPES else f for f in given + missing]
    now = timezone.now()

    def default_of(f):
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            return lambda: now
        if f.has_default() and callable(f.default):
            return f.default
        value = f.get_default()
        return lambda: value

    # Constant defaults (and the current time) are converted once; callable ones per row.
    constant, per_row = [], []
    for f in missing:
        make = default_of(f)
        if f.has_default() and callable(f.default) and f.default is not timezone.now:
            per_row.append((len(constant) + len(per_row), make, f))
            constant.append(None)
        else:
            value = now if f.default is timezone.now else make()
            constant.append(value if value is None or f.get_internal_type() in PLAIN_TYPES else f.get_db_prep_save(value, conn))
    given_converters = converters[: len(given)]
    # The rows of a page repeat the same few dates and times (the page's "now"): each distinct hashable
    # value is converted once per column.
    memo: dict[tuple, object] = {}

    def convert(column: int, field, value):
        if field is None or value is None:
            return value
        try:
            key = (column, type(value), value)
            return memo[key]
        except KeyError:
            memo[key] = converted = field.get_db_prep_save(value, conn)
            return converted
        except TypeError:  # unhashable (JSON lists and objects)
            return field.get_db_prep_save(value, conn)

    prepared = []
    for row in rows:
        values = [convert(i, c, v) for i, (v, c) in enumerate(zip(row, given_converters, strict=True))]
        extra = list(constant)
        for index, make, f in per_row:
            value = make()
            extra[index] = value if f.get_internal_type() in PLAIN_TYPES else f.get_db_prep_save(value, conn)
        prepared.append((*values, *extra))
    if not prepared:
        return 0
    qn = conn.ops.quote_name
    head = f"INSERT INTO {qn(opts.db_table)} ({', '.join(qn(c) for c in columns)}) VALUES "
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with conn.cursor() as cur:
        if conn.vendor == "postgresql":
            # COPY … FROM STDIN: rows streamed to the server, no SQL text to build and parse. (A multi-row
            # VALUES statement of tens of thousands of parameters costs more in psycopg's client-side
            # query splitting than in the database.)
            with cur.cursor.copy(f"COPY {qn(opts.db_table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN") as copy:
                for row in prepared:
                    copy.write_row(row)
        else:  # one prepared statement, re-executed: the fastest path on SQLite
            cur.executemany(head + one, prepared)
    return len(prepared)


def insert_objects(objs: Sequence[models.Model], *, key: Sequence[str], using=None) -> None:
    """INSERT unsaved model instances with :func:`insert_rows` (every concrete field, ``auto_now`` fields
    set to the current time) and give them their primary keys, read back by the fields of a unique
    constraint (``key``): a few queries per thousand rows instead of ``bulk_create``'s compiled batches."""
    if not objs:
        return
    using = using or DEFAULT_DB_ALIAS
    model = type(objs[0])
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    now = timezone.now()
    for obj in objs:
        for f in fields:
            if (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)) and getattr(obj, f.attname) is None:
                setattr(obj, f.attname, now)
    insert_rows(model, [f.name for f in fields], [tuple(getattr(obj, f.attname) for f in fields) for obj in objs], using=using)
    attnames = [opts.get_field(k).attname for k in key]
    groups: dict[tuple, dict] = {}
    for obj in objs:
        values = tuple(getattr(obj, a) for a in attnames)
        groups.setdefault(values[:-1], {})[values[-1]] = obj
    for prefix, by_last in groups.items():
        lasts = list(by_last)
        for start in range(0, len(lasts), 500):
            found = model._default_manager.using(using).filter(
                **dict(zip(attnames[:-1], prefix, strict=True)), **{f"{attnames[-1]}__in": lasts[start:start + 500]}
            ).values_list(attnames[-1], "pk")
            for last, pk in found:
                obj = by_last[last]
                obj.pk = pk
                obj._state.adding, obj._state.db = False, using
