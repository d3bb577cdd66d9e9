"""The one place that writes the site: all files at once, or nothing.

The new site is written into a fresh directory beside the output directory
and then swapped in with a single ``rename``; on Linux the swap is an atomic
exchange (``renameat2(RENAME_EXCHANGE)``), so readers and static servers
never see a missing or half-written site. A build that fails before this
point leaves the previous output untouched, because nothing was written.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import tempfile
from pathlib import Path

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class OutputError(Exception):
    """The output directory is unusable (and nothing was changed)."""


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths; False where the OS cannot."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return result == 0


def check_output_dir(out_dir: Path, protected: list[Path]) -> None:
    """Refuse an output directory whose replacement would destroy sources."""
    target = out_dir.resolve()
    for path in protected:
        path = path.resolve()
        if target == path or target in path.parents:
            raise OutputError(f"output directory {out_dir} contains {path}: choose a separate folder such as _site")
    if target == Path(target.anchor) or target == Path.home().resolve():
        raise OutputError(f"output directory {out_dir} is not a build folder: choose a separate folder such as _site")
    if target.exists() and not target.is_dir():
        raise OutputError(f"output path {out_dir} exists and is not a directory: remove it or choose another")


def write_file(path: Path, data: bytes) -> None:
    """Replace one file atomically (write beside it, then rename over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def write_site(files: dict[str, bytes], out_dir: Path) -> None:
    """Replace ``out_dir`` with exactly ``files`` (relative POSIX paths -> bytes)."""
    out_dir = out_dir.absolute()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.new-", dir=out_dir.parent))
    try:
        for relative, data in files.items():
            path = staging / relative
            if ".." in Path(relative).parts or Path(relative).is_absolute():
                raise OutputError(f"refusing to write outside the output directory: {relative}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for directory in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
            directory.chmod(0o755)
        if out_dir.exists():
            if not _exchange(staging, out_dir):
                old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
                old.rmdir()
                out_dir.rename(old)
                staging.rename(out_dir)
                staging = old
        else:
            staging.rename(out_dir)
            return
    finally:
        if staging.exists():
            shutil.rmtree(staging)
