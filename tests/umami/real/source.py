"""Where the Umami source comes from, and proof it is the pinned release.

Why a setting: `../shared/` is not part of the product. By default the harness fetches the
release archive named in umami/umami.lock (UMAMI_URL) and verifies it against UMAMI_SHA256; CI
and developers point UMAMI_SOURCE at a local copy (scripts/test does so when
../shared/umami/umami-<version>.tar.gz exists). Either way the bytes must hash to the pin, so a
different or corrupted file is refused with a message, never built.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LOCK = REPO / "umami" / "umami.lock"


class SetupError(Exception):
    """Bad setup (source missing, hash mismatch, no Node...): the message says what to do."""


@dataclass(frozen=True)
class Lock:
    version: str
    sha256: str
    url: str
    node: str
    pnpm: str
    inter_font: str


def read_lock(path: Path = LOCK) -> Lock:
    """umami/umami.lock: KEY=value lines (the same file build.sh sources)."""
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SetupError(f"{path}:{number}: expected KEY=value, got {line!r}")
        values[key] = value
    try:
        return Lock(values["UMAMI_VERSION"], values["UMAMI_SHA256"], values["UMAMI_URL"],
                    values["NODE_VERSION"], values["PNPM_VERSION"], values["INTER_FONT_VERSION"])
    except KeyError as missing:
        raise SetupError(f"{path}: {missing.args[0]} is not set") from None


def cache_root() -> Path:
    """Build cache outside the clone: $LEGALSITE_CACHE or ~/.cache/legalsite (XDG)."""
    setting = os.environ.get("LEGALSITE_CACHE")
    if setting:
        return Path(setting).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "legalsite"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_archive(lock: Lock) -> Path:
    """The verified source archive: UMAMI_SOURCE (a path or an https URL) or the lock's URL."""
    setting = os.environ.get("UMAMI_SOURCE", "").strip()
    where = f"UMAMI_SOURCE={setting}" if setting else f"the release archive {lock.url}"
    if setting and "://" not in setting:
        path = Path(setting).expanduser()
        if not path.is_file():
            raise SetupError(f"Umami source archive not found ({where}): set UMAMI_SOURCE to "
                             f"umami-{lock.version}.tar.gz, or unset it to download {lock.url}")
    else:
        path = cache_root() / "sources" / f"umami-{lock.version}-{lock.sha256[:16]}.tar.gz"
        if not path.is_file():
            _download(setting or lock.url, path, where, lock)
    actual = sha256_of(path)
    if actual != lock.sha256:
        raise SetupError(f"Umami source archive {path} ({where}) has sha256 {actual}, but "
                         f"umami/umami.lock pins {lock.sha256} for v{lock.version}: wrong or corrupted file")
    return path


def _download(url: str, path: Path, where: str, lock: Lock) -> None:
    """Fetch into the cache; only bytes with the pinned hash are kept there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise SetupError(f"could not download the Umami source ({where}): {exc}; set UMAMI_SOURCE "
                         f"to a local copy of the release archive") from None
    actual = sha256_of(partial)
    if actual != lock.sha256:
        partial.unlink()
        raise SetupError(f"the Umami source downloaded from {url} has sha256 {actual}, but "
                         f"umami/umami.lock pins {lock.sha256} for v{lock.version}: not the release "
                         "archive the suite tests; set UMAMI_SOURCE to a verified copy")
    partial.replace(path)
