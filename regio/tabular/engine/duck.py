"""DuckDB connections: never download or autoload an extension at run time."""

from __future__ import annotations

import duckdb

BASE_CONFIG = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def connect(*, memory_limit: str | None = None, threads: int | None = None, temp_directory: str | None = None):
    config = dict(BASE_CONFIG)
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    if temp_directory:
        config["temp_directory"] = temp_directory
    return duckdb.connect(":memory:", config=config)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
