"""Pure conversion and query engine for tabular files (no Django models here).

``convert_file(path, out_parquet, limits)`` sniffs the format, encoding and dialect of a file,
converts it to Parquet with DuckDB and profiles its columns; ``query`` runs filtered pages and
sandboxed read-only SQL on one Parquet file. Every error is a :class:`TabularError` carrying a
French sentence fit for the people who published the file.
"""

from .errors import TabularError

__all__ = ["TabularError"]
