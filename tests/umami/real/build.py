"""Build Umami once per source and build script, cache it outside the clone.

Why a cache: the Next.js build takes minutes; keyed by the source's sha256, the lock file,
umami/build/build.sh (the same script the Dockerfile runs) and the guard it builds in, a rerun reuses it in seconds and
any change to what would be built makes a new key. The toolchain (node and pnpm at the lock's
versions, from the npm registry) is cached the same way.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from .source import REPO, Lock, SetupError, cache_root, read_lock, sha256_of, source_archive

BUILD_SCRIPT = REPO / "umami" / "build" / "build.sh"


def toolchain(lock: Lock) -> Path:
    """A bin directory with node and pnpm at the pinned versions (npm packages node, pnpm)."""
    prefix = cache_root() / "tools" / f"node-{lock.node}-pnpm-{lock.pnpm}"
    bindir = prefix / "node_modules" / ".bin"
    if (bindir / "node").exists() and (bindir / "pnpm").exists():
        return bindir
    npm = shutil.which("npm")
    if not npm:
        raise SetupError("npm is required to install Node.js "
                         f"{lock.node} and pnpm {lock.pnpm}: apt-get install npm")
    prefix.mkdir(parents=True, exist_ok=True)
    result = subprocess.run([npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                             "--no-save", f"node@{lock.node}", f"pnpm@{lock.pnpm}"],
                            capture_output=True, text=True)
    if result.returncode != 0 or not (bindir / "node").exists():
        raise SetupError(f"could not install node@{lock.node} and pnpm@{lock.pnpm} from the npm "
                         f"registry into {prefix}:\n{result.stderr.strip()[-2000:]}")
    return bindir


def build_inputs() -> list[Path]:
    """Every file of this repository the build reads: a change to any makes a new build."""
    return [BUILD_SCRIPT, REPO / "umami" / "umami.lock", *sorted((REPO / "umami" / "guard").glob("*.ts"))]


def build_key(lock: Lock) -> str:
    digest = hashlib.sha256(lock.sha256.encode())
    for path in build_inputs():
        digest.update(f"{path.relative_to(REPO)} {sha256_of(path)}\n".encode())
    return digest.hexdigest()[:16]


def built_umami() -> tuple[Lock, Path, Path]:
    """(lock, source archive, build directory with server.js): built now or from the cache."""
    lock = read_lock()
    archive = source_archive(lock)
    out = cache_root() / f"umami-{lock.version}-{build_key(lock)}"
    if (out / "server.js").is_file():
        return lock, archive, out
    bindir = toolchain(lock)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    print(f"\nBuilding Umami {lock.version} from {archive} into {out} (a few minutes, once)",
          file=sys.stderr, flush=True)
    log = out.with_name(out.name + ".log")
    with log.open("w") as handle:
        result = subprocess.run(["bash", str(BUILD_SCRIPT), str(archive), str(out)], env=env,
                                stdout=handle, stderr=subprocess.STDOUT)
    if result.returncode != 0 or not (out / "server.js").is_file():
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-30:])
        raise SetupError(f"building Umami failed (full log: {log}):\n{tail}")
    return lock, archive, out
