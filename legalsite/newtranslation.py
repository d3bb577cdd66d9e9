"""``build.py new POLICY --lang LANG``: start a translation of the version in force (issue 17).

The new file, ``content/<policy>/<date>.<lang>.md``, holds the English text to
translate, ``draft: true`` so that it is not published before it is done, and
``translates: sha256:…``, the text it is made from, which the build compares
with the English version ever after (translations.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import frontmatter

from .content import _POLICY_SLUG, _VERSION_NAME
from .front_matter import HANDLER
from .newversion import NewVersionError
from .project import Project
from .settings import load_settings


def new_translation(
    project: Project, policy: str, lang: str, effective: dt.date | None, today: dt.date
) -> Path:
    """Write the draft translation of ``policy``'s version of ``effective`` (default: the
    one in force on ``today``) in ``project``'s content folder and return its path; nothing
    is written on an error."""
    content_dir, settings_path, display = project.content, project.settings, project.display
    settings = load_settings(settings_path, display(settings_path))
    if lang not in settings.languages:
        listed = ", ".join(settings.languages) or "none yet"
        raise NewVersionError(
            f"'{lang}' is not one of the site's languages ({listed}): add it to [site] languages "
            f"in {display(settings_path)} first"
        )
    folder = content_dir / policy
    if not _POLICY_SLUG.match(policy) or not folder.is_dir():
        raise NewVersionError(f"there is no policy '{policy}' in {display(content_dir)}")
    versions = sorted(p for p in folder.glob("*.md") if _VERSION_NAME.match(p.name))
    if effective is not None:
        source = folder / f"{effective.isoformat()}.md"
        if source not in versions:
            raise NewVersionError(f"there is no version {display(source)} to translate")
    else:
        in_force = [p for p in versions if dt.date.fromisoformat(p.stem) <= today]
        if not in_force:
            raise NewVersionError(
                f"no version of {policy} is in force on {today.isoformat()}: "
                "choose the version with --effective DATE"
            )
        source = in_force[-1]
    target = source.with_name(f"{source.stem}.{lang}.md")
    if target.exists():
        raise NewVersionError(f"{display(target)} already exists: edit it")
    raw = source.read_bytes()
    try:
        post = frontmatter.loads(raw.decode("utf-8").removeprefix("\ufeff"), handler=HANDLER)
    except Exception as exc:  # any parse problem: point at `check`
        raise NewVersionError(
            f"cannot read {display(source)} ({exc}): run 'python build.py check' and fix it first"
        ) from None
    fields: dict = {"title": post.metadata.get("title", policy)}
    if post.metadata.get("summary"):
        fields["summary"] = post.metadata["summary"]
    fields["translates"] = "sha256:" + hashlib.sha256(raw).hexdigest()
    fields["draft"] = True
    text = frontmatter.dumps(
        frontmatter.Post(post.content, handler=HANDLER, **fields), handler=HANDLER, sort_keys=False
    )
    with open(target, "x", encoding="utf-8") as handle:
        handle.write(text.rstrip("\n") + "\n")
    return target
