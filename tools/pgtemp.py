"""Run a command against a throw-away PostgreSQL 15 server.

    python tools/pgtemp.py -- make test

initdb into a temporary directory, start the server on a free local port, export
``REGIO_DATABASE_URL`` for the command, then stop the server and delete the directory, even on
failure. As root, the server runs as the ``postgres`` system user (initdb refuses root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATE_BIN_DIRS = ["/usr/lib/postgresql/15/bin", "/usr/local/pgsql/bin", "/usr/local/bin", "/usr/bin"]


def _bin(name: str) -> str:
    for directory in CANDIDATE_BIN_DIRS:
        path = Path(directory) / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if not found:
        sys.exit(f"pgtemp : {name} introuvable (installez PostgreSQL 15).")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@contextlib.contextmanager
def postgres_server():
    user = "postgres" if os.geteuid() == 0 else None
    tmp = Path(tempfile.mkdtemp(prefix="regio-pg-"))
    data = tmp / "data"
    if user:
        pw = pwd.getpwnam(user)
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    subprocess.run(
        _as_user([_bin("initdb"), "-D", str(data), "-U", "regio", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], user),
        check=True, stdout=subprocess.DEVNULL,
    )
    opts = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    subprocess.run(
        _as_user([_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(tmp / "log"), "-w", "start"], user),
        check=True, stdout=subprocess.DEVNULL,
    )
    try:
        subprocess.run([_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "regio", "regio"], check=True)
        yield f"postgres://regio@127.0.0.1:{port}/regio"
    finally:
        subprocess.run(_as_user([_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], user), stdout=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        sys.exit("usage : python tools/pgtemp.py -- COMMANDE …")
    with postgres_server() as url:
        print(f"pgtemp : PostgreSQL temporaire sur {url}", flush=True)
        return subprocess.run(argv, env={**os.environ, "REGIO_DATABASE_URL": url}).returncode


if __name__ == "__main__":
    sys.exit(main())
