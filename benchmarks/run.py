"""`make bench`: run every benchmarks/bench_*.py (or those named) with a throw-away PostgreSQL.

    python benchmarks/run.py [territory catalog …] [--no-postgres] [-- ARGS…]

Everything after ``--`` is passed to each benchmark script (e.g. ``run.py harvest -- --size 50000``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    argv = sys.argv[1:]
    script_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    args = [a for a in argv if not a.startswith("--")]
    scripts = sorted(HERE.glob("bench_*.py"))
    if args:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args]
    failures = 0

    def run_all(env):
        nonlocal failures
        for script in scripts:
            print(f"== {script.stem}", flush=True)
            if subprocess.run([sys.executable, str(script), *script_args], env=env).returncode != 0:
                failures += 1
                print(f"!! {script.stem} a échoué", flush=True)

    if "--no-postgres" in argv:
        run_all(dict(os.environ))
    else:
        from tools.pgtemp import postgres_server

        with postgres_server() as url:
            run_all({**os.environ, "REGIO_BENCH_PG_URL": url})
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
