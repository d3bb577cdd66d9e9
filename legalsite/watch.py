"""Watch the project's sources and call back once per burst of changes.

watchdog's observer reports file-system events from its own thread; this
module filters them (editor swap files and backups are not changes), then
waits until no event has arrived for ``debounce`` seconds before calling
``on_change()``: the build reads everything again, so it is told only that
something changed. An editor's save-as-rename (write a temp file, rename it
over the original) and a burst of saves (a ``git checkout``)
therefore cause one rebuild; ``max_delay`` bounds the wait under a never-ending
stream of events.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog import events
from watchdog.observers import Observer

from .project import is_ignored

# Events that can change what a build reads; watchdog drops the others. Not opens and
# reads: every rebuild reads every source, and on a 1,000-file site those events alone
# kept the watcher thread busy enough to double the rebuild time. Not a folder's own
# "modified" either: what changed in it comes as its own event.
_CHANGES = [
    events.FileCreatedEvent,
    events.FileModifiedEvent,
    events.FileDeletedEvent,
    events.FileMovedEvent,
    events.FileClosedEvent,
    events.DirCreatedEvent,
    events.DirDeletedEvent,
    events.DirMovedEvent,
]


class Watcher:
    """Watches ``folders`` recursively and ``files`` (each by its parent folder, not recursively)."""

    def __init__(
        self,
        folders: Iterable[Path],
        files: Iterable[Path],
        on_change: Callable[[], object],
        debounce: float = 0.03,
        max_delay: float = 0.5,
    ):
        self.folders = [Path(f).absolute() for f in folders]
        self.files = {Path(f).absolute() for f in files}
        self.on_change = on_change
        self.debounce = debounce
        self.max_delay = max_delay
        self._lock = threading.Lock()
        self._pending: set[str] = set()
        self._first = 0.0
        self._last = 0.0
        self._wake = threading.Event()
        self._stopping = False
        self._observer = Observer()
        self._thread = threading.Thread(
            target=self._run, name="preview-watch-debounce", daemon=True
        )
        self.bursts = 0  # how many times on_change was called

    def relevant(self, path: str) -> bool:
        path_ = Path(path)
        if path_ in self.files:
            return True
        for folder in self.folders:
            if path_ == folder or folder in path_.parents:
                return not any(is_ignored(part) for part in path_.relative_to(folder).parts)
        return False

    def _event(self, event: events.FileSystemEvent) -> None:
        raw = [p for p in (event.src_path, getattr(event, "dest_path", "")) if p]
        paths = [p if isinstance(p, str) else bytes(p).decode() for p in raw]
        hits = [p for p in paths if self.relevant(p)]
        if not hits:
            return
        now = time.monotonic()
        with self._lock:
            if not self._pending:
                self._first = now
            self._pending.update(hits)
            self._last = now
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopping:
                return
            while True:  # wait for a quiet moment
                with self._lock:
                    now = time.monotonic()
                    remaining = min(self._last + self.debounce, self._first + self.max_delay) - now
                    if remaining <= 0:
                        paths, self._pending = self._pending, set()
                        self._wake.clear()
                        break
                time.sleep(remaining)
                if self._stopping:
                    return
            if paths:
                self.bursts += 1
                try:
                    self.on_change()
                except Exception:  # a bug in a rebuild must not stop watching
                    traceback.print_exc()

    def start(self) -> None:
        handler = events.FileSystemEventHandler()
        handler.dispatch = self._event  # type: ignore[method-assign]  # every event, whatever its type
        watched: set[tuple[Path, bool]] = set()
        for folder in self.folders:
            if folder.is_dir():
                watched.add((folder, True))
        for file in self.files:
            if file.parent.is_dir() and not any(
                file.parent == f or f in file.parent.parents for f, _ in watched
            ):
                watched.add((file.parent, False))
        for path, recursive in sorted(watched):
            self._observer.schedule(handler, str(path), recursive=recursive, event_filter=_CHANGES)
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        if self._observer.is_alive():  # start() may have failed (e.g. the inotify watch limit)
            self._observer.stop()
            self._observer.join()
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(
                1.0
            )  # a rebuild under way may finish later (a daemon thread): stop now
