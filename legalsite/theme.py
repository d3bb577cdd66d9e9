"""The theme: the Jinja templates and the static assets of the site, loaded once per build.

One Jinja Environment (StrictUndefined, autoescaping), its compiled templates kept in the
store (``template`` entries); the stylesheets joined into one content-hashed file; a
fingerprint of every template and asset, which every page's store key includes.
"""

from __future__ import annotations

import hashlib
import traceback
from dataclasses import dataclass
from pathlib import Path

import jinja2

from . import compare, i18n, reading, timeline, wording
from .model import ContentError
from .project import read_tree
from .store import Store
from .unreadable import problem


@dataclass(frozen=True)
class Theme:
    """Templates plus static assets; the stylesheet is one content-hashed file."""

    env: jinja2.Environment
    stylesheet: str  # output path, e.g. assets/site.0123456789.css
    assets: tuple[tuple[str, bytes], ...]
    fingerprint: str  # hash of every template and asset, for caches


class _StoredBytecode(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in the store under the template's name and source
    (Jinja checks both and its own version; the store's key adds this generator's code)."""

    def __init__(self, store: Store):
        self.store = store

    def _key(self, bucket: jinja2.bccache.Bucket) -> str:
        return self.store.key("template", bucket.key, bucket.checksum)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        found, code = self.store.lookup("template", self._key(bucket))
        if found:
            assert isinstance(code, bytes)  # stored by dump_bytecode
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store.put("template", self._key(bucket), bucket.bytecode_to_string())


def load_theme(templates_dir: Path, store: Store | None = None) -> Theme:
    """The templates and assets in ``templates_dir``; ``store``: where Jinja keeps
    compiled templates between builds."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        bytecode_cache=_StoredBytecode(store) if store is not None else None,
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(("html", "xml"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],  # issue 17: the site's words from catalogues (i18n.py)
    )
    i18n.install(env)
    env.filters["human_date"] = i18n.date_filter(timeline.human_date)
    env.filters["machine_date"] = timeline.machine_date
    # issue 15 (reader features): permalinks and table boxes, counts, compare links
    env.filters.update(
        reader_body=reading.reader_body, table_boxes=reading.table_boxes, counted=wording.counted
    )
    env.globals.update(compare_url=compare.compare_url, long_page=reading.long_page)
    tree = read_tree(templates_dir)  # every file, each read once; what Jinja can load too
    names = [name for name in tree if name.startswith("assets/") and name.count("/") == 1]
    css = b"".join(tree[name].rstrip(b"\n") + b"\n" for name in names if name.endswith(".css"))
    stylesheet = f"assets/site.{hashlib.sha256(css).hexdigest()[:12]}.css"
    assets = [(stylesheet, css)] + [
        (name, tree[name]) for name in names if not name.endswith(".css")
    ]
    digest = hashlib.sha256()
    for name, data in tree.items():
        digest.update(name.encode() + b"\0" + data + b"\0")
    return Theme(
        env=env, stylesheet=stylesheet, assets=tuple(assets), fingerprint=digest.hexdigest()
    )


def missing_folders(templates: Path, display) -> list[ContentError]:
    """The templates folder, or its assets folder, where it is missing: a ``path:1`` error
    before any content is read (it was a traceback after the whole load)."""
    if not templates.is_dir():
        found = "templates folder not found: create it, or pass --templates PATH"
    elif not (templates / "assets").is_dir():
        templates, found = (
            templates / "assets",
            "assets folder not found: create it: it holds the stylesheets",
        )
    else:
        return []
    return [ContentError(display(templates), 1, found)]


def template_error(exc: BaseException, templates: Path, display) -> ContentError | None:
    """``templates/x.html:12: message`` for a template that cannot be loaded or rendered
    (a syntax error, an undefined name, a failing filter), or None when the exception did
    not come from a template (a bug, reported as such). The one place that reads a Jinja
    error, for ``build``, ``check`` and the preview alike; ``display``: a path as shown."""
    if isinstance(exc, OSError) and exc.filename:  # a template or asset that cannot be read
        place = display(Path(exc.filename))
        fix = problem(
            exc, place, "move it out of the templates folder", Path(exc.filename).is_dir()
        )
        return ContentError(place, 1, fix)
    if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
        return ContentError(
            display(Path(exc.filename)),
            exc.lineno or 1,
            f"template syntax error: {exc.message}: fix the tag or expression on this line",
        )
    if isinstance(exc, jinja2.TemplateNotFound):
        message = f"template not found: {exc.name}: create it in templates/, or fix the name"
    elif isinstance(exc, jinja2.UndefinedError):
        message = (
            f"{exc.message}: check the spelling; a template sees only what the build passes it "
            "(render.py) and what it sets itself"
        )
    else:
        message = f"the expression or filter on this line failed: {type(exc).__name__}: {exc}"
    for frame, line in reversed(list(traceback.walk_tb(exc.__traceback__))):
        filename = Path(frame.f_code.co_filename)
        if filename.is_absolute() and templates in filename.parents:
            return ContentError(display(filename), line, message)
    if isinstance(exc, jinja2.TemplateError):
        return ContentError(display(templates), 1, message)
    return None
