"""The persistent build cache: results of pure steps, on disk, keyed by digests.

A digest covers everything a result depends on: the inputs of the step (source
bytes, bodies, settings, the build day, the theme's fingerprint) and the
generator's own code (:data:`CODE_DIGEST`, a hash of every file of this
package and of the installed library versions), so a cached result can only be
served for exactly the inputs that produced it: a change to content,
templates, settings, the day, the code or a library misses. Entries are pickles written atomically (temporary file, then rename);
an unreadable entry is treated as missing and recomputed.

This and :mod:`legalsite.output` are the only modules that write to disk;
the cache lives outside the site (default ``.cache/`` in the project).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import sys
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

_PACKAGE = Path(__file__).resolve().parent


# The libraries whose behaviour is part of the output.
_LIBRARIES = ("markdown", "jinja2", "markupsafe", "yaml", "frontmatter")


def _code_digest() -> str:
    """This package's files, the Python version and the installed distributions
    beside each library that shapes the output: upgrading any of them misses."""
    digest = hashlib.sha256(sys.version.encode() + b"\0")
    for path in sorted(_PACKAGE.iterdir()):
        if path.suffix in (".py", ".json"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    folders = set()
    for name in _LIBRARIES:
        spec = importlib.util.find_spec(name)  # finds without importing
        origin = spec.origin if spec and spec.origin else name
        folders.add(os.path.dirname(os.path.dirname(origin)) if spec and spec.submodule_search_locations else os.path.dirname(origin))
        digest.update(origin.encode() + b"\0")
    for folder in sorted(folders):
        try:
            installed = sorted(n for n in os.listdir(folder) if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            installed = []
        digest.update("\0".join(installed).encode() + b"\0")
    return digest.hexdigest()


CODE_DIGEST = _code_digest()
_ACTIVE: ContextVar["DiskCache | None"] = ContextVar("legalsite_disk_cache", default=None)


def digest_of(*parts: object) -> str:
    """SHA-256 of the generator's code and ``parts`` (bytes, text, or anything with a stable repr)."""
    digest = hashlib.sha256(CODE_DIGEST.encode())
    for part in parts:
        if isinstance(part, bytes):
            data = b"b" + part
        elif isinstance(part, str):
            data = b"s" + part.encode("utf-8", "surrogatepass")
        else:
            data = b"r" + repr(part).encode("utf-8")
        digest.update(len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


class DiskCache:
    """One folder of entries per step: ``<root>/<table>/<digest>.pickle``."""

    def __init__(self, root: Path):
        self.root = root
        self.hits = 0
        self.misses = 0

    def _path(self, table: str, digest: str) -> Path:
        return self.root / table / f"{digest}.pickle"

    def get(self, table: str, digest: str) -> tuple[bool, object]:
        try:
            with open(self._path(table, digest), "rb") as stream:
                value = pickle.load(stream)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError):
            self.misses += 1
            return False, None
        self.hits += 1
        return True, value

    def has(self, table: str, digest: str) -> bool:
        return self._path(table, digest).exists()

    def put(self, table: str, digest: str, value: object) -> None:
        folder = self.root / table
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".entry-", dir=folder)
        try:
            with os.fdopen(handle, "wb") as stream:
                pickle.dump(value, stream, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, self._path(table, digest))
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise

    @contextmanager
    def active(self) -> Iterator["DiskCache"]:
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)


def active_cache() -> DiskCache | None:
    return _ACTIVE.get()


def through_disk(table: str, digest: Callable[[], str], compute: Callable[[], T]) -> T:
    """``compute()``, served from and saved to the active disk cache, if any."""
    cache = _ACTIVE.get()
    if cache is None:
        return compute()
    key = digest()
    found, value = cache.get(table, key)
    if found:
        return value  # type: ignore[return-value]
    value = compute()
    cache.put(table, key, value)
    return value
