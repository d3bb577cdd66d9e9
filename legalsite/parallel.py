"""Use every core for the expensive pure steps of a cold build.

Parsing (Markdown) and redlines are pure functions of their inputs (the audit
spreads itself over the same pool: pipeline.audit_site). Before or while the ordinary, serial pipeline asks
the store for them, this module computes the ones the store does not hold in
worker processes and puts the results into the store under the very keys the
pipeline asks for, so the pipeline stays one code path and the output is
byte-identical with any number of processes (tests/test_store.py asserts it).
Workers do not write the store's disk (the build holds it): the main process
stores their results, and the Markdown blocks they rendered.

Workers are forked (cheap on Linux) before anything is loaded; only for a
site large enough to gain from it, and never by the preview.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from itertools import groupby
from typing import TYPE_CHECKING

from .content import parse_group, parse_key, policy_of
from .redline import redlines
from .store import Store

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


def warm_parse(
    pool: ProcessPoolExecutor,
    store: Store,
    sources: Mapping[str, bytes],
    content_prefix: str,
    placeholders: dict[str, str],
    jobs: int,
) -> None:
    wanted = {
        store.key("parse", *parse_key(path, raw, placeholders)): (path, raw)
        for path, raw in sources.items()
        if policy_of(path, content_prefix)
    }
    todo = sorted(item for key, item in wanted.items() if not store.has("parse", key))
    if jobs < 2 or len(todo) < MIN_ITEMS:
        return
    groups = [list(items) for _, items in groupby(todo, key=lambda item: item[0].rsplit("/", 1)[0])]
    # Split big policies so that both cores stay busy; each group keeps its own block memo.
    size = max(4, len(todo) // (jobs * 4))
    chunks = [group[i : i + size] for group in groups for i in range(0, len(group), size)]
    for results, sections in pool.map(parse_group, chunks, [placeholders] * len(chunks)):
        for key, value in results:
            store.put("parse", key, value, once=True)
        for key, pickled in sections:
            store.save("section", key, pickled, pickled=True)


def _redlines(pairs: list[tuple[str, str]]):
    return redlines(pairs)


def _policy_chunks(todo: list, size: int) -> list[list]:
    """``todo`` in chunks of at most ``size``, cut where a redline shares no body with the
    chunk so far (another policy): a chunk shares its parsed pieces (redline.redlines), and a
    policy's pieces parsed in two chunks are parsed twice (the 20 x 50 corpus: 9,382 pieces
    tokenized in chunks of 61 pairs, 7,711 in one chunk per policy). Compare pages' pairs
    (versions 0 and 2, 0 and 3, ...) share a body with the chunk without following each other."""
    chunks: list[list] = []
    bodies: set[str] = set()
    for item in todo:
        if not chunks or len(chunks[-1]) >= size or bodies.isdisjoint(item[1]):
            chunks.append([])
            bodies = set()
        chunks[-1].append(item)
        bodies.update(item[1])
    return chunks


def warm_redlines(
    pool: ProcessPoolExecutor, store: Store, pairs: list[tuple[tuple, tuple[str, str]]], jobs: int
) -> None:
    """Start the redlines on the workers and return at once: pages without a redline
    render meanwhile, and a page that needs one waits for its chunk (Store.expect).
    ``pairs``: (store key parts, the two bodies) of every redline the build may compute."""
    keyed = {store.key("redline", *parts): bodies for parts, bodies in pairs}
    todo = [(key, pair) for key, pair in keyed.items() if not store.has("redline", key)]
    if jobs < 2 or len(todo) < MIN_ITEMS:
        return
    size = max(1, len(todo) // (jobs * 8))
    for chunk in _policy_chunks(todo, size):
        keys = [key for key, _ in chunk]
        future = pool.submit(_redlines, [pair for _, pair in chunk])

        def put_all(keys=keys, future=future) -> None:
            for key, value in zip(keys, future.result(), strict=True):
                store.put("redline", key, value, once=True)

        store.expect(keys, put_all)
