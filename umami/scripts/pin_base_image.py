#!/usr/bin/env python3
"""Resolve and record the digest of the Node base image the Umami image is built on.

  pin_base_image.py [--env-file umami/.env] [--print]

compose.yaml builds Umami on node:<NODE_VERSION>-bookworm-slim (NODE_VERSION from
umami/umami.lock) pinned by digest, and refuses to build while NODE_IMAGE_DIGEST is unset.
No registry is reachable where the project is developed and tested, so nobody there can know
that digest: ops run this where the registry is reachable (it asks
`docker buildx imagetools inspect`), and it writes NODE_IMAGE_DIGEST=sha256:... into
umami/.env (or only prints it with --print). Run it again after upgrade.py changes NODE_VERSION.
The digests of the other images (PostgreSQL, Caddy, ClickHouse), and this one too, are recorded
by pin_images.py.

Exit codes: 0 recorded, 1 the registry or docker failed, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lib import UMAMI_DIR, Failure, main_guard  # noqa: E402

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
KEY = "NODE_IMAGE_DIGEST"


def base_image(lock: Path = UMAMI_DIR / "umami.lock") -> str:
    for line in lock.read_text().splitlines():
        if line.startswith("NODE_VERSION="):
            return f"node:{line.split('=', 1)[1].strip()}-bookworm-slim"
    raise Failure(f"{lock}: NODE_VERSION is not set", 2)


def resolve(image: str) -> str:
    try:
        result = subprocess.run(["docker", "buildx", "imagetools", "inspect", image,
                                 "--format", "{{json .Manifest}}"], capture_output=True, text=True,
                                timeout=120)
    except FileNotFoundError:
        raise Failure("docker is not installed here; run this where Docker and the registry are "
                      "reachable") from None
    if result.returncode != 0:
        raise Failure(f"could not inspect {image}: {result.stderr.strip() or result.stdout.strip()}")
    try:
        digest = json.loads(result.stdout).get("digest", "")
    except (ValueError, AttributeError):
        digest = ""
    if not DIGEST_RE.match(digest):
        raise Failure(f"docker buildx imagetools inspect {image} gave no sha256 digest: "
                      f"{result.stdout.strip()[:200]!r}")
    return digest


def record(env_file: Path, digest: str, key: str = KEY) -> None:
    """Set ``key`` in the .env file, keeping every other line; written atomically."""
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    entry = f"{key}={digest}"
    kept = [line for line in lines if not line.strip().startswith(f"{key}=")]
    tmp = env_file.with_name(env_file.name + ".tmp")
    tmp.write_text("\n".join([*kept, entry]) + "\n")
    tmp.replace(env_file)


@main_guard
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Resolve and record the Node base image digest for the Umami image.")
    p.add_argument("--env-file", type=Path, default=UMAMI_DIR / ".env", help="where to record it (default umami/.env)")
    p.add_argument("--print", action="store_true", help="only print the digest")
    args = p.parse_args(argv)
    image = base_image()
    digest = resolve(image)
    if args.print:
        print(digest)
        return 0
    record(args.env_file, digest)
    print(f"recorded {KEY}={digest} ({image}) in {args.env_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
