#!/usr/bin/env python3
"""Resolve and record the digest of every image the deployment runs or builds on.

  pin_images.py [--env-file umami/.env] [--print] [--only KEY ...]

Every image in umami/compose*.yaml is pinned by tag and digest: `postgres:17-alpine@${POSTGRES_IMAGE_DIGEST:?...}`,
`caddy:...@${CADDY_IMAGE_DIGEST:?...}`, `redis:...@${REDIS_IMAGE_DIGEST:?...}` (Umami's cache),
ClickHouse's in compose.clickhouse.yaml and the Node base image of the Umami image (build argument NODE_IMAGE). Compose refuses to run while a digest is
unset. No registry is reachable where the project is developed and tested, so nobody there can
know them: ops run this where the registry is reachable. It reads the pairs "image:tag" and
setting from the compose files themselves, asks `docker buildx imagetools inspect` for each
image's digest (of the multi-platform index, as `docker pull` resolves it) and writes
KEY=sha256:... into umami/.env (or only prints them with --print). Run it again after changing a
tag (and pin_base_image.py after upgrade.py changes NODE_VERSION, or this with --only
NODE_IMAGE_DIGEST).

Exit codes: 0 recorded, 1 the registry or docker failed, 2 bad arguments or compose files.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lib import UMAMI_DIR, Failure, main_guard  # noqa: E402
from pin_base_image import record, resolve  # noqa: E402

# "<image>:<tag>@${<KEY>:?<message>}" in an `image:` line or the NODE_IMAGE build argument.
PINNED_RE = re.compile(r"(?P<image>[a-z0-9][a-z0-9./-]*:[A-Za-z0-9][A-Za-z0-9._-]*)@\$\{(?P<key>[A-Z][A-Z0-9_]*_DIGEST):\?")


def pinned_images(folder: Path = UMAMI_DIR) -> dict[str, str]:
    """KEY -> image:tag over every compose*.yaml; one image per key."""
    found: dict[str, str] = {}
    files = sorted(folder.glob("compose*.yaml"))
    if not files:
        raise Failure(f"no compose*.yaml in {folder}", 2)
    for path in files:
        for match in PINNED_RE.finditer(path.read_text()):
            key, image = match["key"], match["image"]
            if found.setdefault(key, image) != image:
                raise Failure(f"{path.name}: {key} pins {image}, another compose file pins {found[key]} "
                              "with it: one setting per image", 2)
    return found


@main_guard
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Resolve and record the digest of every image of the deployment.")
    p.add_argument("--env-file", type=Path, default=UMAMI_DIR / ".env", help="where to record them (default umami/.env)")
    p.add_argument("--print", action="store_true", help="only print KEY=digest lines")
    p.add_argument("--only", action="append", metavar="KEY", help="only this setting (repeatable)")
    args = p.parse_args(argv)
    images = pinned_images()
    if args.only:
        unknown = sorted(set(args.only) - set(images))
        if unknown:
            raise Failure(f"unknown setting {', '.join(unknown)}: the compose files pin {', '.join(sorted(images))}", 2)
        images = {key: images[key] for key in args.only}
    # Resolve every digest before writing any: a failure leaves the .env file as it was.
    digests = {key: resolve(image) for key, image in sorted(images.items())}
    for key, digest in digests.items():
        if args.print:
            print(f"{key}={digest}  # {images[key]}")
        else:
            record(args.env_file, digest, key)
            print(f"recorded {key}={digest} ({images[key]}) in {args.env_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
