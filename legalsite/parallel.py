"""Use every core for the expensive pure steps of a cold build.

Parsing (Markdown), redlines and the privacy audit of each output file are pure
functions of their inputs. Before or while the ordinary, serial pipeline asks
for them, this module computes the ones missing from the cache in worker
processes and hands the results to the build through a
:class:`~legalsite.memo.BuildMemo` under the very keys the pipeline asks for,
so the pipeline stays one code path and the output is byte-identical with
any number of processes (tests/test_speed.py asserts it). Workers do not write
the disk cache (the build holds it): the main process stores their results,
and the Markdown sections they rendered (content.StoredSections).

Workers are forked (cheap on Linux) before anything is loaded; this is only
done when no memo is active, i.e. never inside the preview server and its
threads, and only for a site large enough to gain from it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING
from itertools import groupby

from .cache import active_cache, digest_of
from .content import parse_group, parse_key, policy_of
from .memo import BuildMemo
from .redline import redlines

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

MIN_ITEMS = 8  # below this, starting processes costs more than it saves


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def workers(jobs: int) -> ProcessPoolExecutor:
    """The pool, started before the build loads anything so that forked workers stay small.

    multiprocessing is imported here, not with the module: a rebuild of a few pages
    never starts a pool, and the import is about 30 ms of it."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context)
    list(pool.map(int, range(jobs)))  # fork now, while the process is small
    return pool


class Prefetched(BuildMemo):
    """A memo whose results are handed out once, then forgotten.

    In a cold build every parse and redline is asked for once, so holding on to
    them after that would only raise the peak memory; a second request for the
    same key (two identical redlines) simply computes it again.
    """

    def __init__(self) -> None:
        super().__init__()
        self._coming: dict[tuple[str, object], tuple[object, list]] = {}  # (table, key) -> (future, its keys)

    def expect(self, table: str, keys: list, future) -> None:
        """Results for ``keys`` will come from ``future`` (a list in the same order)."""
        for key in keys:
            self._coming[(table, key)] = (future, keys)

    def get(self, table, key, compute):
        if (table, key) in self._coming:
            self._receive(table, key)
        entries = self._tables.get(table, {})
        if key in entries:
            self.hits[table] += 1
            return entries.pop(key)
        self.misses[table] += 1
        return compute()

    def _receive(self, table: str, key) -> None:
        future, keys = self._coming[(table, key)]
        for each, value in zip(keys, future.result()):
            self._coming.pop((table, each), None)
            _store(self, table, each, value)

    def receive_all(self) -> None:
        """Take in whatever was expected and not asked for (so that the cache gets it)."""
        while self._coming:
            self._receive(*next(iter(self._coming)))


def _missing(table: str, keys: list[tuple]) -> list[tuple]:
    cache = active_cache()
    if cache is None:
        return keys
    return [k for k in keys if not cache.has(table, digest_of(table, *k))]


def _store(memo: BuildMemo, table: str, key: tuple, value: object) -> None:
    memo.put(table, key, value)
    cache = active_cache()
    if cache is not None:
        cache.put(table, digest_of(table, *key), value)


def warm_parse(pool: ProcessPoolExecutor, memo: BuildMemo, sources: dict[str, bytes], content_prefix: str,
               placeholders: dict[str, str], jobs: int) -> None:
    wanted = {parse_key(path, raw, placeholders): (path, raw) for path, raw in sources.items()
              if policy_of(path, content_prefix)}
    todo = sorted(wanted[k] for k in _missing("parse", list(wanted)))
    if jobs < 2 or len(todo) < MIN_ITEMS:
        return
    groups = [list(items) for _, items in groupby(todo, key=lambda item: item[0].rsplit("/", 1)[0])]
    # Split big policies so that both cores stay busy; each group keeps its own section memo.
    size = max(4, len(todo) // (jobs * 4))
    chunks = [group[i:i + size] for group in groups for i in range(0, len(group), size)]
    cache = active_cache()
    for results, sections in pool.map(parse_group, chunks, [placeholders] * len(chunks),
                                       [cache is not None] * len(chunks)):
        for key, value in results:
            _store(memo, "parse", key, value)
        for digest, pickled in sections:
            cache.put_pickled("section", digest, pickled)


def _redlines(pairs: list[tuple[str, str]]):
    return redlines(pairs)


def warm_redlines(pool: ProcessPoolExecutor, memo: Prefetched, pairs: list[tuple[str, str]], jobs: int) -> None:
    """Start the redlines on the workers and return at once: pages without a redline
    render meanwhile, and a page that needs one waits for its chunk (Prefetched.get)."""
    todo = _missing("redline", list(dict.fromkeys(pairs)))
    if jobs < 2 or len(todo) < MIN_ITEMS:
        return
    size = max(1, len(todo) // (jobs * 8))
    for start in range(0, len(todo), size):
        chunk = todo[start:start + size]
        memo.expect("redline", chunk, pool.submit(_redlines, chunk))
