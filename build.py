#!/usr/bin/env python3
"""Build the 1vy legal site: ``python build.py --help`` lists the commands.

A thin script over the installed ``legalsite`` command (the same ``legalsite.cli:entry``), kept
for the checkout; it is not part of the package. ``python -m build`` in this folder finds this
file before PyPA's build (Python puts the current folder first on ``sys.path``), so it hands
over to PyPA's build then, the command Python developers mean by it.
"""

import os
import sys
from pathlib import Path

if __name__ == "__main__" and __spec__ is not None and __spec__.name == "build":
    # Run as ``python -m build``: again with -P (Python 3.11+), which leaves the current folder
    # off sys.path, so that ``build`` is PyPA's package (an sdist and a wheel in dist/).
    os.execv(sys.executable, [sys.executable, "-P", "-m", "build", *sys.argv[1:]])

sys.path.insert(0, str(Path(__file__).resolve().parent))

from legalsite.cli import entry  # noqa: E402

if __name__ == "__main__":
    entry()
