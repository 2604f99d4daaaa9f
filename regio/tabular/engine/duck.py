"""DuckDB connections: never download or autoload an extension at run time."""

from __future__ import annotations

import threading

import duckdb

BASE_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
_shared = None
_shared_lock = threading.Lock()


def connect(*, memory_limit: str | None = None, threads: int | None = None, temp_directory: str | None = None):
    config = dict(BASE_CONFIG)
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    if temp_directory:
        config["temp_directory"] = temp_directory
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")
    return con


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def reader_cursor():
    """A cursor on one process-wide in-memory database used for reading Parquet pages.

    Opening a DuckDB database costs tens of milliseconds; a cursor on an open one costs almost
    nothing, and each cursor is independent (safe for one request thread). The sandboxed SQL
    endpoint never uses it: it opens a locked-down database of its own per query.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = connect(memory_limit="1GB", threads=2)
            # Keep each file's Parquet footer (schema, row-group statistics) parsed between queries
            # instead of reading and decoding it again for every DESCRIBE, count and page: a cached
            # footer is checked against the file's modification time, and a conversion writes a new file.
            _shared.execute("SET parquet_metadata_cache = true")
        return _shared.cursor()
