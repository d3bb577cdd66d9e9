"""An input the build cannot read, or an output folder it cannot list, as ``path:1: message``
with the fix: a source without read access, site.toml or versions.lock replaced by a folder, an
output folder that cannot be listed. Never a traceback, and nothing written.

Free of the heavy libraries and of the model until there is an error to report (as project.py
and stamp.py, which a build with nothing to do loads).
"""

from __future__ import annotations

import os
from pathlib import Path

SOURCE = "move it out of the content folder"  # the way out for a content file


def problem(exc: OSError, display: str, instead: str, folder: bool = False) -> str:
    """What is wrong with ``display`` (``exc``: the error reading it) and how to fix it;
    ``instead``: the other way out (another path to pass, say)."""
    if isinstance(exc, IsADirectoryError):
        return f"is a folder, not a file: move the folder away and put the file back, or {instead}"
    reason = f"cannot be read: {exc.strerror or type(exc).__name__}"
    if isinstance(exc, PermissionError):
        mode = "-R u+rwX" if folder else "a+r"
        return f"{reason}: make it readable (chmod {mode} {display}), or {instead}"
    return f"{reason}: {instead}"


def errors(found: list[tuple[str, OSError]], instead: str, folder: bool = False):
    """ContentErrors, one per ``(display, exc)`` in ``found``, to raise."""
    from .model import ContentError, ContentErrors  # see the module's docstring

    return ContentErrors(
        [ContentError(path, 1, problem(exc, path, instead, folder)) for path, exc in found]
    )


def read_file(path: Path, display: str, instead: str) -> bytes | None:
    """The bytes of ``path``, None if there is none; raises ContentErrors if it cannot be read
    (a folder in its place, no read access)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise errors([(display, exc)], instead) from None


def check_listable(out_dir: Path, display) -> None:
    """Every folder of an existing output folder can be listed, as writing the site needs
    (output.listing); raises ContentErrors naming each one that cannot. One ``scandir`` per
    folder, before anything is built."""
    found: list[tuple[str, OSError]] = []
    if out_dir.is_dir():
        for _ in os.walk(
            out_dir, onerror=lambda exc: found.append((display(Path(exc.filename)), exc))
        ):
            pass
    if found:
        raise errors(found, "pass another --out", folder=True)
