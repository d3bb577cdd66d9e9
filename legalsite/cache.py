"""The persistent build cache: results of pure steps, on disk, keyed by digests.

A digest covers everything a result depends on: the inputs of the step (source
bytes, bodies, settings, the build day, the theme's fingerprint) and the
generator's own code (:data:`CODE_DIGEST`, a hash of every file of this
package and of the installed library versions), so a cached result can only be
served for exactly the inputs that produced it: a change to content,
templates, settings, the day, the code or a library misses. Entries are pickles
in one SQLite database; an unreadable entry is treated as missing and recomputed.

This and :mod:`legalsite.output` are the only modules that write to disk
(besides Jinja, which keeps compiled templates in the same folder: render.py);
the cache lives outside the site (default ``.cache/`` in the project).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import sys
import queue
import sqlite3
import threading
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


_WAIT = 2  # seconds a statement waits for another build's lock on the database


class DiskCache:
    """One SQLite file, ``<root>/cache.sqlite3``: a row per entry, (table, digest) -> pickle.

    A cold build stores thousands of entries; one database takes them in one
    transaction where a file per entry cost seconds of file creation on some
    file systems. SQLite keeps it consistent if a build is interrupted, and an
    unreadable database or entry is treated as missing (and replaced)."""

    def __init__(self, root: Path):
        self.root = root
        self.hits = 0
        self.misses = 0
        self._db: sqlite3.Connection | None = None
        self._pid = 0  # a forked worker never uses its parent's connection
        # New entries are inserted by a background thread (SQLite lets go of the GIL
        # while it writes), so a cold build's 150 MB of entries go to disk while the
        # build waits for its workers; until then they are served from _pending.
        self._pending: dict[tuple[str, str], bytes] = {}
        self._queue: queue.Queue = queue.Queue(maxsize=256)  # a bound on memory: put() waits when full
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()  # one statement at a time on the connection

    def _connection(self) -> sqlite3.Connection | None:
        if self._db is not None and self._pid == os.getpid():
            return self._db
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / "cache.sqlite3"
        for attempt in (1, 2):
            try:
                db = sqlite3.connect(path, timeout=_WAIT, isolation_level=None, check_same_thread=False)
                # A write-ahead log, so that builds reading the cache never block the one writing
                # it, but no fsync: a cache need not survive a power cut. A database damaged by one
                # is replaced, and each value starts with its own digest, so that a damaged index
                # that leads to another row is a miss (get), not a wrong answer.
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=OFF")
                old = db.execute("SELECT sql FROM sqlite_master WHERE name = 'entries'").fetchone()
                if old is not None and "WITHOUT ROWID" in old[0]:
                    db.execute("DROP TABLE entries")  # the layout of earlier versions: slow for large rows
                db.execute("CREATE TABLE IF NOT EXISTS entries (tab TEXT, digest TEXT, value BLOB,"
                           " PRIMARY KEY (tab, digest))")
                db.execute("BEGIN")
                self._db, self._pid = db, os.getpid()
                return db
            except sqlite3.OperationalError:
                return None  # busy (another build) or unwritable: no cache rather than no build
            except sqlite3.DatabaseError:
                if attempt == 2:
                    return None
                for stale in self.root.glob("cache.sqlite3*"):
                    stale.unlink()  # not a database (damaged): start a new one
        return None

    def get(self, table: str, digest: str) -> tuple[bool, object]:
        pending = self._pending.get((table, digest))
        db = self._connection() if pending is None else None
        try:
            if pending is not None or db is None:
                row = None if pending is None else (pending,)
            else:
                with self._lock:
                    row = db.execute("SELECT value FROM entries WHERE tab = ? AND digest = ?", (table, digest)).fetchone()
            if row is not None and row[0][:len(digest)] == digest.encode("ascii"):
                value = pickle.loads(row[0][len(digest):])
                self.hits += 1
                return True, value
        except (sqlite3.DatabaseError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError,
                TypeError, IndexError, KeyError):
            pass
        self.misses += 1
        return False, None

    def has(self, table: str, digest: str) -> bool:
        if (table, digest) in self._pending:
            return True
        db = self._connection()
        try:
            with self._lock:
                return db is not None and db.execute(
                    "SELECT 1 FROM entries WHERE tab = ? AND digest = ?", (table, digest)).fetchone() is not None
        except sqlite3.DatabaseError:
            return False

    def put(self, table: str, digest: str, value: object) -> None:
        self.put_pickled(table, digest, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def put_pickled(self, table: str, digest: str, pickled: bytes) -> None:
        """put() of a value another process has already pickled."""
        if self._connection() is None:
            return
        data = digest.encode("ascii") + pickled
        self._pending[(table, digest)] = data
        if self._writer is None:
            self._writer = threading.Thread(target=self._insert_all, name="legalsite-cache", daemon=True)
            self._writer.start()
        self._queue.put((table, digest, data))

    def _insert_all(self) -> None:
        db, refused = self._db, False
        while (item := self._queue.get()) is not None:
            try:
                if not refused:
                    with self._lock:
                        db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?)", item)
            except Exception:  # noqa: BLE001  never stop taking entries (put() would wait forever)
                # Another build holds the database (it writes until it ends) or it is
                # damaged: this build caches nothing more rather than wait at every entry.
                refused = True
            self._pending.pop(item[:2], None)

    def close(self) -> None:
        """Commit what this build stored."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        if self._db is not None and self._pid == os.getpid():
            try:
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError:
                pass  # not committed, so not cached: the next build computes them again
            self._db.close()
        self._db = None

    @contextmanager
    def active(self) -> Iterator["DiskCache"]:
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)
            self.close()


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
