#!/usr/bin/env python
from regio.cli import main

if __name__ == "__main__":
    main()
