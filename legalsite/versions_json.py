"""versions.json, the machine-readable index of every version (schemas/versions-1.schema.json).

Made last by render.render_site, from its renderer ``r`` (the site, each policy's entries and
outline, the store and the pages' keys) and the pages already rendered, whose SHA-256 it lists.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from . import __version__, timeline
from .model import Policy

VERSIONS_SCHEMA = Path(__file__).with_name("versions-1.schema.json")
VERSIONS_SCHEMA_PATH = "schemas/versions-1.schema.json"  # where the site publishes it


def versions_json(r, files: dict[str, bytes], known: dict[str, str]) -> bytes:
    """The machine-readable index (schemas/versions-1.schema.json).

    It changes with every edit (it lists the hashes of sources and pages), so each
    policy's part is remembered apart, by its outline and those hashes, and the
    parts are put in their places in the document's indented JSON."""
    parts = []
    for policy in r.site.policies:
        entries = r.entries[policy.slug]
        pages = tuple(
            _sha256(r, files, e.url)
            if e.url + "index.html" in files
            else known[e.url + "index.html"]
            for e in entries
        )
        sources = tuple(v.source_sha256 for v in policy.versions)
        key = (r.common, r.outline[policy.slug], sources, pages)
        parts.append(
            r.store.get("versions_json", key, lambda: _indented(_policy_json(r, policy, pages), 4))
        )
    data = {
        "$schema": r.absolute(VERSIONS_SCHEMA_PATH),
        "schema_version": 1,
        "generator": {"name": "legalsite", "version": __version__},
        "site": {"name": r.site.settings.name, "url": r.absolute("")},
        "as_of": r.site.today.isoformat(),
        "policies": [f"\0{n}\0" for n in range(len(parts))],
    }
    text = _PART.sub(
        lambda m: parts[int(m[1])],
        json.dumps(data, indent=2, ensure_ascii=False),
        count=len(parts),
    )
    return (text + "\n").encode("utf-8")


def _sha256(r, files: dict[str, bytes], url: str) -> str:
    """A version page's SHA-256, remembered under the page's own key (same key, same bytes)."""
    return r.store.fetch(  # its own key without hashing again: the page's, marked
        "sha256",
        r.keys[url] + ".sha256",
        lambda: hashlib.sha256(files[url + "index.html"]).hexdigest(),
    )


def _policy_json(r, policy: Policy, pages: tuple[str, ...]) -> dict:
    current = timeline.in_force(policy, r.site.today)
    return {
        "slug": policy.slug,
        "title": policy.title,
        "url": r.absolute(f"{policy.slug}/"),
        "history_url": r.absolute(f"{policy.slug}/history/"),
        "feed_url": r.absolute(f"{policy.slug}/feed.xml"),
        "in_force": current.effective.isoformat() if current else None,
        "versions": [
            {
                "effective": e.version.effective.isoformat(),
                "status": e.status.value,
                "draft": e.version.draft,
                "title": e.version.title,
                "summary": e.version.summary,
                "url": r.absolute(e.url),
                "changes_url": r.absolute(e.changes_url) if e.changes_url else None,
                "source_sha256": e.version.source_sha256,
                "page_sha256": page,
                "corrections": [
                    {"date": c.date.isoformat(), "note": c.note} for c in e.version.corrections
                ],
            }
            for e, page in zip(r.entries[policy.slug], pages, strict=False)
        ],
    }


_PART = re.compile(r'"\\u0000(\d+)\\u0000"')  # where versions_json puts each policy's part


def _indented(value: object, depth: int) -> str:
    """``value`` as json.dumps(indent=2) writes it ``depth`` spaces deep inside a document."""
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + " " * depth)
