#!/usr/bin/env python3
"""Build the 1vy legal site: ``python build.py --help`` lists the commands."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from legalsite.cli import entry  # noqa: E402

if __name__ == "__main__":
    entry()
