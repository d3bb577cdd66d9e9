"""Generate a large policy site (default 20 policies x 50 versions) for benchmarks.

Each version is the shipped privacy policy's text with a few sentences varied,
so Markdown, redlines and pages cost what real ones cost.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
from pathlib import Path

from benchmarks.corpus import lock_text

REPO = Path(__file__).resolve().parent.parent
BASE_SOURCE = REPO / "content" / "privacy" / "2026-04-01.md"


def _body() -> str:
    text = BASE_SOURCE.read_text(encoding="utf-8")
    return text.split("\n---\n", 1)[1]


def generate_site(root: Path, policies: int = 20, versions: int = 50, seed: int = 1) -> Path:
    """Write content/, templates/ (a copy of the repository's), site.toml and versions.lock under ``root``."""
    rng = random.Random(seed)
    body = _body()
    paragraphs = body.split("\n\n")
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "templates", root / "templates", dirs_exist_ok=True)
    (root / "site.toml").write_text(
        '[site]\nname = "Bench"\nbase_url = "https://legal.bench.example"\ncontact_email = "privacy@bench.example"\n',
        encoding="utf-8")
    start = dt.date(2022, 1, 3)
    for p in range(policies):
        slug = f"policy-{p:02d}"
        folder = root / "content" / slug
        folder.mkdir(parents=True, exist_ok=True)
        current = list(paragraphs)
        for v in range(versions):
            effective = start + dt.timedelta(days=30 * v)
            if v:
                index = rng.randrange(len(current))
                if not current[index].startswith("#") and current[index].strip():
                    current[index] = re.sub(r"\b(\d+)\b", lambda m: str(int(m.group(1)) + 1), current[index], count=1)
                    current[index] += f" Revision {v} clarifies this paragraph."
            summary = f"summary: Revision {v} clarifies one paragraph.\n" if v else ""
            folder.joinpath(f"{effective.isoformat()}.md").write_text(
                f"---\ntitle: Policy {p}\neffective: {effective.isoformat()}\n{summary}---\n" + "\n\n".join(current),
                encoding="utf-8")
    # Each version published (locked) 30 days before it takes effect, as the notice rule asks.
    content = root / "content"
    (root / "versions.lock").write_bytes(lock_text(content, {p: p.read_bytes() for p in content.rglob("*.md")}))
    return root
