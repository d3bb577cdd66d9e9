"""The one store of everything a build reuses: results of pure steps, by content address.

Every reusable result (a parse, a Markdown block, a redline, a page, a policy's pages, an
audit, a compiled template, the last build's stamp) is asked for as ``store.get(kind, parts,
compute)``, under the SHA-256 of ``kind``, ``parts`` (all the result depends on) and
the generator (:data:`CODE_DIGEST`). A stored result is the result computed afresh
(tests/test_store.py: a cold, a warm and a damaged store build the same bytes). One thread
asks at a time: the preview runs builds and pages on request under one lock (preview.py).

Two layers, one key:

- memory: what this process asked for. A one-shot build (``remember=False``) keeps only
  the kinds asked for many times per build (:data:`SHARED`: Markdown blocks that versions
  share); the preview (``remember=True``) keeps everything the last build used (:meth:`prune`
  forgets the rest), which makes a reload after one edit redo only what the edit touched.
- disk (optional): one SQLite file under one folder (``.cache/store.sqlite3``), a
  row per entry, each value prefixed with its own key so that a damaged index
  can only cause a miss. New entries go in from a background thread in one
  transaction committed by :meth:`close`: a build killed before that leaves the
  store as it was (SQLite rolls the transaction back). Two builds at once: the
  second reads everything and, if the first holds the write lock, stores
  nothing (it never waits more than :data:`_WAIT` seconds once). An unreadable
  file is replaced; an unreadable entry is a miss. The store is bounded:
  :meth:`close` removes the least recently used entries beyond :data:`LIMIT` bytes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import queue
import re
import shutil
import sqlite3
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

T = TypeVar("T")

_PACKAGE = Path(__file__).resolve().parent
# The libraries that shape the output: import name -> distribution name.
_LIBRARIES = dict(  # issue 17 added babel: translated pages' words and dates
    markdown="markdown", jinja2="jinja2", markupsafe="markupsafe", yaml="pyyaml",
    frontmatter="python_frontmatter", lxml="lxml", tinycss2="tinycss2", babel="babel",
)  # fmt: skip


def _code_digest() -> str:
    """This package's files, the Python version and the version of each library that
    shapes the output (from its ``.dist-info`` folder name, found without importing it
    or importlib.metadata, which would cost the no-op build 15 ms). Upgrading one of
    them misses; installing or removing any other package does not."""
    digest = hashlib.sha256(sys.version.encode() + b"\0")
    for name in sorted(os.listdir(_PACKAGE)):
        if name.endswith((".py", ".json")):
            with open(os.path.join(_PACKAGE, name), "rb") as handle:
                digest.update(name.encode() + b"\0" + handle.read() + b"\0")
    installed: dict[str, dict[str, list[str]]] = {}  # folder -> distribution -> its .dist-info
    for module, distribution in _LIBRARIES.items():
        spec = importlib.util.find_spec(module)  # finds without importing
        folder = os.path.dirname(os.path.dirname(spec.origin)) if spec and spec.origin else ""
        if folder not in installed:
            installed[folder] = {}
            try:
                names = sorted(os.listdir(folder))
            except OSError:
                names = []
            for name in names:
                if name.endswith((".dist-info", ".egg-info")):
                    key = re.sub(r"[-_.]+", "_", name.split("-", 1)[0]).lower()
                    installed[folder].setdefault(key, []).append(name)
        versions = installed[folder].get(distribution, [])
        digest.update(f"{module}\0{versions}\0".encode())
    return digest.hexdigest()


CODE_DIGEST = _code_digest()


class _Blob(str):
    """A ``bytes`` part of a key, by its SHA-256: its repr cannot be any other part's."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<bytes " + self + ">"


def digest_of(*parts: object, code: str | None = None) -> str:
    """SHA-256 of the generator's code and ``parts`` (bytes, text, or anything with a stable
    repr): one repr of them all (a third of the time part by part took; the preview makes
    6,000 keys per rebuild on 1,000 versions), bytes by their own digest."""
    if bytes in map(type, parts):
        parts = tuple(
            _Blob(hashlib.sha256(part).hexdigest()) if type(part) is bytes else part
            for part in parts
        )
    text = f"{code or CODE_DIGEST}\0{parts!r}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


SHARED = frozenset({"section"})  # asked for many times in one build: kept in memory by every store
# cheaper made than read, or the preview's only: "policy" (render.kept_apart), "checked" (compare)
MEMORY_ONLY = frozenset({"page", "outline", "sha256", "source", "policy", "checked"})
LIMIT = 1 << 30  # bytes of entries on disk; beyond it the least recently used go
_FORMAT = 2  # the tables' layout (PRAGMA user_version); a store of another is emptied
_HAS, _ANY = "SELECT 1 FROM entries WHERE key = ?", "SELECT 1 FROM entries LIMIT 1"
_PAGES = ("page_size", "page_count", "freelist_count")
_WAIT = 2  # seconds a statement waits for another build's lock on the database


class Store:
    """The store; ``folder`` None: memory only (``--no-cache``, tests)."""

    def __init__(self, folder: Path | None = None, remember: bool = False, code: str | None = None):
        self.folder, self.remember, self.code = folder, remember, code or CODE_DIGEST
        self.hits: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()
        self._memory: dict[str, object] = {}
        self._used: set[str] = set()
        self._children: dict[str, frozenset[str]] = {}  # key -> keys asked for computing it
        self._computing: list[list[str]] = []
        self._coming: dict[str, Callable[[], None]] = {}  # key -> receives it (parallel.py)
        self._db: sqlite3.Connection | None = None
        self._pid = 0  # a forked worker never uses its parent's connection
        self._opened = False
        self._empty = False  # the table was empty when opened: a miss asks SQLite nothing
        # New entries are inserted by a background thread (SQLite lets go of the GIL while it
        # writes), so a cold build's entries go to disk while it renders; until then they are
        # served from _pending. The queue's bound is a bound on memory: put() waits when full.
        self._pending: dict[str, bytes] = {}
        self._touched: set[str] = set()  # disk entries read: their "used" time is renewed
        self._queue: queue.Queue = queue.Queue(maxsize=256)
        self._writer: threading.Thread | None = None
        self._lock = threading.Lock()  # one statement at a time on the connection

    # -- asking --------------------------------------------------------------

    def key(self, kind: str, *parts: object) -> str:
        return digest_of(kind, *parts, code=self.code)

    def get(self, kind: str, parts: tuple, compute: Callable[[], T]) -> T:
        """``compute()``, or the result stored for ``kind`` and ``parts``."""
        return self.fetch(kind, self.key(kind, *parts), compute)

    def fetch(self, kind: str, key: str, compute: Callable[[], T]) -> T:
        """get() for a key already made (``self.key(kind, *parts)``)."""
        found, value = self.lookup(kind, key)
        if found:
            return value  # type: ignore[return-value]
        if not self.remember:
            value = compute()
        else:  # what it is computed from stays as long as it does (see _keep_alive)
            self._computing.append([])
            try:
                value = compute()
            finally:
                self._children[key] = frozenset(self._computing.pop())
        self.put(kind, key, value)
        return value

    def lookup(self, kind: str, key: str) -> tuple[bool, object]:
        if self._computing:  # asked for while computing another result: kept as long as it is
            self._computing[-1].append(key)
        if key in self._coming:
            self._coming[key]()
        if key in self._memory:
            self.hits[kind] += 1
            self._keep_alive(key) if key in self._children else self._used.add(key)
            return True, self._memory[key] if self._keeps(kind) else self._memory.pop(key)
        if kind not in MEMORY_ONLY:
            found, value = self._read(key)
            if found:
                self.hits[kind] += 1
                if self._keeps(kind):
                    self._memory[key] = value
                    self._used.add(key)
                return True, value
        self.misses[kind] += 1
        return False, None

    def has(self, kind: str, key: str) -> bool:
        """Whether ``key`` is stored (without reading it): parallel.py computes only what is not."""
        if key in self._memory or key in self._pending or key in self._coming:
            return True
        db = self._connection() if kind not in MEMORY_ONLY else None
        try:
            with self._lock:
                row = not self._empty and db and db.execute(_HAS, (key,)).fetchone()
        except sqlite3.DatabaseError:
            return False
        return bool(row)

    def put(
        self, kind: str, key: str, value: object, pickled: bytes | None = None, once: bool = False
    ) -> None:
        """Store ``value`` (``pickled``: as another process already pickled it). ``once``: a
        result computed ahead (parallel.py), kept in memory until asked for at least once."""
        if self._keeps(kind):
            self._memory[key] = value
            self._used.add(key)
        elif once:
            self._memory[key] = value
        if kind not in MEMORY_ONLY:
            self.save(kind, key, pickled if pickled is not None else value, pickled is not None)

    def save(self, kind: str, key: str, value: object, pickled: bool = False) -> None:
        """Store ``value`` on disk only (``pickled``: it is a pickle another process made)."""
        if self._connection() is None:
            return
        data = key.encode("ascii") + (
            cast(bytes, value) if pickled else pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        )
        self._pending[key] = data
        if self._writer is None:
            self._writer = threading.Thread(
                target=self._insert_all, name="legalsite-store", daemon=True
            )
            self._writer.start()
        self._queue.put((key, kind, data, len(data), time.time_ns()))

    def expect(self, keys: list[str], receive: Callable[[], None]) -> None:
        """``receive()`` will put the results of ``keys`` (parallel.py, computed by a worker)."""

        def once() -> None:
            for key in keys:
                self._coming.pop(key, None)
            receive()

        for key in keys:
            self._coming[key] = once

    def receive_all(self) -> None:
        """Take in whatever was expected and not asked for (so that the disk gets it)."""
        while self._coming:
            next(iter(self._coming.values()))()

    def _keeps(self, kind: str) -> bool:
        return self.remember or kind in SHARED

    def _keep_alive(self, key: str) -> None:
        """A result used again keeps what it was computed from (a page its redline): the
        next build may need those when something else about the page changes."""
        self._used.add(key)
        stack = [key]
        while stack:  # by set operations: 1,000 parses of 70 blocks each, kept in 3 ms
            new = self._children.get(stack.pop(), frozenset()) - self._used
            self._used |= new
            stack.extend(child for child in new if child in self._children)

    def begin(self) -> None:
        """A new build starts (the preview, before each): counts start from zero (uses: prune)."""
        self.hits.clear()
        self.misses.clear()

    def prune(self) -> None:
        """Forget, in memory, what the last build, and the asks since the last prune, did not
        use (the preview, after a good build), then count uses anew: a page made on request
        and asked for again after each rebuild (an open tab) stays a hit; others go."""
        self._memory = {key: value for key, value in self._memory.items() if key in self._used}
        self._children = {
            key: value for key, value in self._children.items() if key in self._memory
        }
        self._used = set()

    # -- the disk --------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection | None:
        if self.folder is None:
            return None
        if self._pid == os.getpid() and self._opened:
            return self._db
        self._opened, self._pid, self._db = True, os.getpid(), None
        path = self.folder / "store.sqlite3"
        for attempt in (1, 2):
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    path, timeout=_WAIT, isolation_level=None, check_same_thread=False
                )
                # A write-ahead log, so that builds reading the store never block the one
                # writing it, but no fsync: a store need not survive a power cut (a damaged
                # one is replaced, and each value starts with its own key).
                db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;")
                # Each entry's last use in a table of its own: renewing it then rewrites a few
                # bytes, not the value (a one-edit rebuild renews 1,000 parses: 30 MB). Older
                # versions' stamps were files beside the store, never removed: they go too.
                if db.execute("PRAGMA user_version").fetchone()[0] != _FORMAT:
                    shutil.rmtree(self.folder / "stamps", ignore_errors=True)
                    db.executescript(
                        "DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS uses;"
                        "CREATE TABLE entries (key TEXT PRIMARY KEY, kind TEXT, size INTEGER,"
                        " value BLOB);"
                        "CREATE TABLE uses (key TEXT PRIMARY KEY, used INTEGER) WITHOUT ROWID;"
                        f"PRAGMA user_version = {_FORMAT}; VACUUM;"
                    )
                db.execute("BEGIN")
                self._db, self._empty = db, not db.execute(_ANY).fetchone()
                return db
            except sqlite3.OperationalError:
                return None  # busy (another build) or unwritable: no store rather than no build
            except sqlite3.DatabaseError:
                if attempt == 2:
                    return None
                for stale in self.folder.glob("store.sqlite3*"):
                    stale.unlink()  # not a database (damaged): start a new one
            except OSError:
                return None
        return None

    def _read(self, key: str) -> tuple[bool, object]:
        data = self._pending.get(key)
        try:
            if data is None:
                db = self._connection()
                if db is None or self._empty:
                    return False, None
                with self._lock:
                    row = db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
                if row is None:
                    return False, None
                data = row[0]
                self._touched.add(key)
            if data[: len(key)] == key.encode("ascii"):
                return True, pickle.loads(memoryview(data)[len(key) :])  # not a copy
        except Exception:  # noqa: BLE001  whatever a damaged value raises when read: a miss
            pass
        return False, None

    def _insert_all(self) -> None:
        db, refused = self._db, False
        assert db is not None  # the writer thread starts after the connection is made
        while (item := self._queue.get()) is not None:
            try:
                if not refused:
                    with self._lock:
                        db.execute(
                            "INSERT OR REPLACE INTO entries (key, kind, value, size)"
                            " VALUES (?, ?, ?, ?)",
                            item[:4],
                        )
                        db.execute("INSERT OR REPLACE INTO uses VALUES (?, ?)", (item[0], item[4]))
            except Exception:  # noqa: BLE001  never stop taking entries (put() would wait forever)
                refused = True  # another build holds the database, or it is damaged: store no more
            self._pending.pop(item[0], None)

    def close(self) -> None:
        """Commit what this build stored, renew the entries it read, keep the file under LIMIT.
        A store that stored nothing (a no-op build: it read its stamp) writes nothing."""
        wrote, writer = self._writer is not None, self._writer
        if writer is not None:
            self._queue.put(None)
            writer.join()
            self._writer = None
        db = self._db if self._pid == os.getpid() else None
        if db is not None:
            try:
                # The pages in use (summing the rows' sizes read the whole table: a third of a
                # one-edit rebuild on 1,000 versions); close to the entries' sizes.
                size, used, free = (db.execute(f"PRAGMA {n}").fetchone()[0] for n in _PAGES)
                prune, now = wrote and (used - free) * size > LIMIT, time.time_ns()
                # Renewed at most hourly (an edit's 1,000 parses: 12 ms of 0.42 s); all before a prune
                since = now - (0 if prune else 3600 * 10**9)
                touched = ((now, key, since) for key in self._touched if wrote)
                db.executemany("UPDATE uses SET used = ? WHERE key = ? AND used < ?", touched)
                if prune:
                    self._shrink(db, (used - free) * size)
                db.execute("COMMIT")
            except sqlite3.DatabaseError:
                pass  # not committed, so not stored: the next build computes them again
            db.close()
        self._db, self._opened, self._touched = None, False, set()

    @staticmethod
    def _shrink(db: sqlite3.Connection, total: int) -> None:
        """Remove the least recently used entries until the store holds at most 3/4 of LIMIT."""
        excess = total - LIMIT * 3 // 4
        doomed = []
        for key, size in db.execute(
            "SELECT key, size FROM uses JOIN entries USING (key) ORDER BY used"
        ):
            if excess <= 0:
                break
            doomed.append((key,))
            excess -= size
        db.executemany("DELETE FROM entries WHERE key = ?", doomed)
        db.executemany("DELETE FROM uses WHERE key = ?", doomed)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
