"""``build.py new``: start the next version of a policy from the newest one.

Legal's usual change is a small edit of the current text, so the new file is a
copy of the newest version with a fresh date, an empty summary to fill in and
``draft: true`` so that it cannot be published by accident.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import frontmatter

from .content import _POLICY_SLUG, _VERSION_NAME
from .front_matter import HANDLER as _HANDLER

NEW_POLICY_BODY = """\
## 1. First section

Write the policy here. Use `## ` for each numbered section and `### ` for subsections.
"""


class NewVersionError(Exception):
    """The new version cannot be created; nothing was written."""


def read_post(path: Path, display: Callable[[Path], str] = str) -> frontmatter.Post:
    """A version's front matter and body, to start a new file from (``new``, ``new --lang``).
    A UTF-8 byte order mark is skipped, as ``check`` skips it (content.py)."""
    try:
        return frontmatter.loads(path.read_text(encoding="utf-8-sig"), handler=_HANDLER)
    except Exception as exc:  # any parse problem: point at `check`
        raise NewVersionError(
            f"cannot read {display(path)} ({exc}): run 'python build.py check' and fix it first"
        ) from None


def new_version(
    content_dir: Path, policy: str, effective: dt.date, display: Callable[[Path], str] = str
) -> Path:
    """Write the new draft and return its path; ``display`` shows paths in messages."""
    if not _POLICY_SLUG.match(policy):
        raise NewVersionError(
            f"policy name '{policy}' must be lowercase letters, digits and hyphens, e.g. privacy"
        )
    folder = content_dir / policy
    target = folder / f"{effective.isoformat()}.md"
    if target.exists():
        raise NewVersionError(
            f"{display(target)} already exists: edit it, or choose another date with --effective"
        )
    existing = (
        sorted(p for p in folder.glob("*.md") if _VERSION_NAME.match(p.name))
        if folder.is_dir()
        else []
    )
    if existing:
        newest = existing[-1]
        if newest.name > target.name:
            raise NewVersionError(
                f"the newest version {display(newest)} takes effect after {effective.isoformat()}: "
                "choose a later date with --effective"
            )
        post = read_post(newest, display)
        title = post.metadata.get("title", policy)
        body = post.content
    else:
        title = " ".join(word.capitalize() for word in re.split(r"-+", policy))
        body = NEW_POLICY_BODY
    post = frontmatter.Post(
        body, handler=_HANDLER, title=title, effective=effective, summary="", draft=True
    )
    folder.mkdir(parents=True, exist_ok=True)
    text = frontmatter.dumps(post, handler=_HANDLER, sort_keys=False)
    with open(target, "x", encoding="utf-8") as handle:
        handle.write(text.rstrip("\n") + "\n")
    return target
