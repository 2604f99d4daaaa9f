"""The ``regio`` command: Django's management commands under the platform's name."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "regio.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["regio", *sys.argv[1:]])


if __name__ == "__main__":
    main()
