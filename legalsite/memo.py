"""Opt-in memoisation of pure build steps, for the preview's incremental rebuilds.

The build stays one code path (``pipeline.render``); a few pure steps ask
:func:`memoized` for their result instead of computing it:

- ``parse``: one source file through front matter, Markdown and the safety
  scan, keyed by its path, its bytes and the settings placeholders;
- ``redline``: the redline of two version bodies, keyed by both bodies;
- ``page``: one output page, keyed by digests of what it shows (the theme,
  the settings, the day, the list of policies, the outline of its policy's
  versions without their texts, and the versions whose text it shows);
- ``audit``: the privacy audit of one output file, keyed by its bytes.

When no :class:`BuildMemo` is active, :func:`memoized` just calls the
function (or asks the persistent :class:`~legalsite.cache.DiskCache`, when
one is active and the call site gives a digest of everything the result
depends on). A cold production build activates a memo only to receive the
results that :mod:`legalsite.parallel` computed on every core. A key holds everything its result depends on, so a memoised
build equals a full build byte for byte (``tests/test_preview_incremental.py``
asserts it after edits, additions, renames, deletions and template and
settings changes).
"""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Hashable, Iterator, TypeVar

from .cache import through_disk

T = TypeVar("T")

_ACTIVE: ContextVar["BuildMemo | None"] = ContextVar("legalsite_build_memo", default=None)


class BuildMemo:
    """Results of pure steps kept between builds, plus hit and miss counts of the last one."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[Hashable, object]] = {}
        self._children: dict[tuple[str, Hashable], tuple[tuple[str, Hashable], ...]] = {}
        self._used: set[tuple[str, Hashable]] = set()
        self._computing: list[list[tuple[str, Hashable]]] = []
        self.hits: Counter[str] = Counter()
        self.misses: Counter[str] = Counter()

    def get(self, table: str, key: Hashable, compute: Callable[[], T]) -> T:
        entries = self._tables.setdefault(table, {})
        if self._computing:
            self._computing[-1].append((table, key))
        if key in entries:
            self.hits[table] += 1
            self._mark_used((table, key))
            return entries[key]  # type: ignore[return-value]
        self._computing.append([])
        try:
            value = compute()
        finally:
            children = tuple(self._computing.pop())
        entries[key] = value
        self._children[(table, key)] = children
        self._used.add((table, key))
        self.misses[table] += 1
        return value

    def put(self, table: str, key: Hashable, value: object) -> None:
        """Store a result computed elsewhere (another process, see parallel.py)."""
        self._tables.setdefault(table, {})[key] = value

    def _mark_used(self, item: tuple[str, Hashable]) -> None:
        """A reused result keeps alive what it was computed from (a policy's pages, its redlines)."""
        stack = [item]
        while stack:
            item = stack.pop()
            if item not in self._used:
                self._used.add(item)
                stack.extend(self._children.get(item, ()))

    @contextmanager
    def active(self) -> Iterator["BuildMemo"]:
        """Use this memo for the builds run inside the ``with`` block (this thread only)."""
        self.hits.clear()
        self.misses.clear()
        self._used = set()
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)

    def prune(self) -> None:
        """Forget everything the last build did not use (call after a successful build)."""
        for table, entries in self._tables.items():
            for key in [k for k in entries if (table, k) not in self._used]:
                del entries[key]
                self._children.pop((table, key), None)



def active_memo() -> "BuildMemo | None":
    return _ACTIVE.get()


def memoized(table: str, key: Hashable, compute: Callable[[], T], digest: Callable[[], str] | None = None) -> T:
    """``compute()``, or its remembered result: from the active memo when it has
    ``key``, else from the active disk cache under ``digest()``."""
    memo = _ACTIVE.get()
    if digest is not None:
        inner = compute
        compute = lambda: through_disk(table, digest, inner)  # noqa: E731
    return compute() if memo is None else memo.get(table, key, compute)
