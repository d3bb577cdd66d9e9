"""Load and validate policy sources: ``content/<policy>/<YYYY-MM-DD>.md``.

Reading is separated from parsing: :func:`read_sources` (project.py) is the only
function that touches the disk; :func:`parse_policies` is pure, so tests and the
preview server can feed it files from memory. Every problem in every file is
collected and raised together as :class:`ContentErrors`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import yaml

from .markup import locate, make_markdown, render_body
from .model import ContentError, ContentErrors, Policy, Settings, Version
from .store import Store

# Top-level folders of the built site that are not policies.
RESERVED = {
    "assets": "stylesheet and images folder",
    "changelog": "changelog page",
    "schemas": "JSON Schema folder",
}
FIELDS = ("title", "effective", "summary", "draft", "date_precision", "retitled", "notice_waived")
_POLICY_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VERSION_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.md$")


class _StrictYAMLHandler(frontmatter.YAMLHandler):
    """python-frontmatter's YAML handler, with a delimiter that never eats a blank line.

    The stock pattern ``^-{3,}\\s*$`` can swallow the newline of an empty line
    after ``---``, which would shift every line number we report.
    """

    FM_BOUNDARY = re.compile(r"^-{3,}[ \t]*\r?$", re.MULTILINE)


_HANDLER = _StrictYAMLHandler()


@dataclass(frozen=True)
class _Parsed:
    """A file that parsed well enough to take part in policy-level checks."""

    version: Version
    lines: dict[str, int]  # field -> line, for policy-level messages


def parse_policies(
    sources: dict[str, bytes],
    content_prefix: str,
    placeholders: dict[str, str],
    store: Store | None = None,
) -> tuple[Policy, ...]:
    """Parse and validate all sources; raise ContentErrors listing every problem.

    ``content_prefix`` is the content directory as it appears in the keys of
    ``sources`` (e.g. ``content``), so that ``content/privacy/2026-04-01.md``
    is policy ``privacy``. ``placeholders`` are the settings policy text may
    name as ``{{ name }}``. ``store``: where each file's result and each
    rendered block are kept (store.py); a fresh one in memory if None.
    """
    store = store if store is not None else Store()
    errors: list[ContentError] = []
    md = make_markdown(placeholders)
    sections = StoredSections(store, placeholders)  # blocks shared by versions (markup.render_body)
    by_policy: dict[str, list[_Parsed]] = {}
    prefix = content_prefix.rstrip("/") + "/" if content_prefix else ""
    for path, raw in sorted(sources.items()):
        relative = path[len(prefix) :] if path.startswith(prefix) else path
        parts = relative.split("/")
        if len(parts) != 2 or not _VERSION_NAME.match(parts[1]) or not _POLICY_SLUG.match(parts[0]):
            errors.append(ContentError(path, 1, _placement_message(parts)))
            continue
        if parts[0] in RESERVED:
            errors.append(
                ContentError(
                    path,
                    1,
                    f"policy folder '{parts[0]}' has the name of the site's own "
                    f"{RESERVED[parts[0]]}: rename the folder, e.g. '{parts[0]}-policy'",
                )
            )
            continue
        parsed, found = store.get(
            "parse",
            parse_key(path, raw, placeholders),
            lambda: _parse_alone(path, parts[0], raw, md, sections),  # noqa: B023 (called before the loop moves on)
        )
        errors.extend(found)
        if parsed is not None:
            by_policy.setdefault(parts[0], []).append(parsed)

    policies = []
    for slug in sorted(by_policy):
        policies.append(Policy(slug=slug, versions=_check_policy(by_policy[slug], errors)))
    if errors:
        raise ContentErrors(errors)
    return tuple(policies)


def placeholders(settings: Settings) -> dict[str, str]:
    """The settings policy text may name as ``{{ name }}``: all of the settings a body depends on."""
    return {"contact_email": settings.contact_email}


def parse_key(path: str, raw: bytes, placeholders: dict[str, str]) -> tuple:
    """Everything one file's parse result depends on (besides the code)."""
    return (path, raw, settings_key(placeholders))


def settings_key(placeholders: dict[str, str]) -> tuple:
    return tuple(sorted(placeholders.items()))


def policy_of(path: str, content_prefix: str) -> str | None:
    """The policy a source belongs to, or None for a misplaced file."""
    prefix = content_prefix.rstrip("/") + "/" if content_prefix else ""
    parts = (path[len(prefix) :] if path.startswith(prefix) else path).split("/")
    if len(parts) != 2 or not _VERSION_NAME.match(parts[1]) or not _POLICY_SLUG.match(parts[0]):
        return None
    return parts[0]


def parse_group(
    items: list[tuple[str, bytes]], placeholders: dict[str, str]
) -> tuple[list[tuple[str, object]], list[tuple[str, bytes]]]:
    """Parse several files of one policy with one Markdown instance (for parallel.py,
    in a worker process); returns each file's store key and result as parse_policies
    stores them, and the blocks rendered meanwhile as (store key, pickle)."""
    md = make_markdown(placeholders)
    store = Store()  # the worker's own, in memory: the build's store takes what it returns
    sections = StoredSections(store, placeholders)
    results: list[tuple[str, object]] = [
        (
            store.key("parse", *parse_key(path, raw, placeholders)),
            _parse_alone(path, path.split("/")[-2], raw, md, sections),
        )
        for path, raw in items
    ]
    return results, [
        (key, pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)) for key, part in sections.made
    ]


class StoredSections:
    """The block memo of markup.render_body, through the store.

    A version's file is parsed again only when its bytes changed, and then
    mostly into blocks that versions share or the last build rendered already
    (an edit changes a sentence or two): only the blocks that changed go
    through Markdown. render_body uses only ``get`` and item assignment."""

    def __init__(self, store: Store, placeholders: dict[str, str]):
        self._store = store
        self._settings = settings_key(placeholders)
        self.made: list[
            tuple[str, object]
        ] = []  # (key, block) rendered here: what a worker hands back

    def get(self, text: str, default=None):
        found, part = self._store.lookup(
            "section", self._store.key("section", text, self._settings)
        )
        return part if found else default

    def __setitem__(self, text: str, part) -> None:
        key = self._store.key("section", text, self._settings)
        self._store.put("section", key, part)
        self.made.append((key, part))


def _placement_message(parts: list[str]) -> str:
    if len(parts) == 1:
        return "files directly in content/ are not read: put each version at content/<policy>/<YYYY-MM-DD>.md"
    if len(parts) > 2:
        return "policies have no subfolders: move this file to content/<policy>/<YYYY-MM-DD>.md"
    if not _POLICY_SLUG.match(parts[0]):
        return (
            f"policy folder '{parts[0]}' must be lowercase letters, digits and hyphens, e.g. "
            "'privacy' or 'terms-of-service'"
        )
    return f"file name '{parts[1]}' must be the effective date, e.g. 2026-04-01.md"


def _parse_alone(
    path: str, policy: str, raw: bytes, md, sections: dict | StoredSections
) -> tuple[_Parsed | None, tuple[ContentError, ...]]:
    """One file's result and its own errors, so that the store can keep both."""
    errors: list[ContentError] = []
    return _parse_file(path, policy, raw, md, sections, errors), tuple(errors)


def _parse_file(
    path: str,
    policy: str,
    raw: bytes,
    md,
    sections: dict | StoredSections,
    errors: list[ContentError],
) -> _Parsed | None:
    def err(line: int, message: str) -> None:
        errors.append(ContentError(path, line, message))

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        err(raw[: exc.start].count(b"\n") + 1, "not valid UTF-8: save the file with UTF-8 encoding")
        return None
    text = text.removeprefix("\ufeff")
    if not _HANDLER.detect(text):
        err(
            1,
            "missing front matter: the file must start with a line '---', then title, effective "
            "and summary, then '---'",
        )
        return None
    try:
        fm, body = _HANDLER.split(text)
    except ValueError:
        err(1, "front matter is not closed: add a line '---' after the last field")
        return None
    body_first_line = 1 + fm.count("\n")  # the closing '---' line; the body starts on it

    meta, lines = _parse_front_matter(fm, err)
    if meta is None:
        return None

    for key in meta:
        if key not in FIELDS:
            hint = difflib.get_close_matches(str(key), FIELDS, n=1)
            fix = (
                f"did you mean '{hint[0]}'?" if hint else f"allowed fields are {', '.join(FIELDS)}"
            )
            err(lines[key], f"unknown field '{key}': {fix}")

    title = meta.get("title")
    if "title" not in meta:
        err(1, "missing field 'title': add e.g. 'title: Privacy Policy'")
    elif not isinstance(title, str) or not title.strip():
        err(lines["title"], "title must be text, e.g. 'title: Privacy Policy'")

    effective = _check_effective(meta, lines, path, err)

    summary = meta.get("summary", "")
    if summary is None:
        summary = ""
    if not isinstance(summary, str):
        err(
            lines["summary"],
            "summary must be text in plain words, e.g. 'summary: We now keep logs for 30 days instead of 90.'",
        )
        summary = ""

    flags = {}
    for name in ("draft", "retitled"):
        value = meta.get(name, False)
        if not isinstance(value, bool):
            err(lines[name], f"{name} must be true or false, not {value!r}")
            value = False
        flags[name] = value

    waived = meta.get("notice_waived", "")
    if not isinstance(waived, str) or ("notice_waived" in meta and not waived.strip()):
        err(
            lines["notice_waived"],
            "notice_waived must say why this version takes effect with less notice, e.g. "
            "'notice_waived: Required by a court order of 2026-05-02'",
        )
        waived = ""

    precision = meta.get("date_precision", "day")
    if precision not in ("day", "month"):
        err(lines["date_precision"], f"date_precision must be 'day' or 'month', not {precision!r}")

    if not body.strip():
        err(body_first_line, "the policy text is empty: write it below the closing '---'")
        return None

    rendered = render_body(md, body, sections)
    body_lines = body.split("\n")
    if rendered.has_h1:
        err(
            body_first_line - 1 + _first_h1_line(body_lines),
            "a level-1 heading ('# …') is not allowed: the page title comes from 'title'; use '## ' for sections",
        )
    for token in rendered.unknown_settings:
        known = ", ".join(f"{{{{ {name} }}}}" for name in md.setting_names) or "none"
        err(
            body_first_line - 1 + locate(body_lines, token),
            f"unknown setting {token}: policy text can use {known}",
        )
    for n, finding in enumerate(rendered.findings):  # the nth of a needle: its nth line
        skip = sum(f.needle == finding.needle for f in rendered.findings[:n])
        err(body_first_line - 1 + locate(body_lines, finding.needle, skip), finding.message)

    if not isinstance(title, str) or not title.strip() or effective is None:
        return None
    version = Version(
        policy=policy,
        effective=effective,
        title=title.strip(),
        summary=summary.strip(),
        draft=flags["draft"],
        month_only=precision == "month",
        retitled=flags["retitled"],
        source_path=path,
        source_sha256=hashlib.sha256(raw).hexdigest(),
        body_html=rendered.html,
        body_sha256=hashlib.sha256(rendered.html.encode("utf-8")).hexdigest(),
        headings=rendered.headings,
        notice_waived=waived.strip(),
        effective_line=lines["effective"],
    )
    return _Parsed(version=version, lines=lines)


# libyaml's parser, where PyYAML was built with it, is ten times faster than the pure-Python one;
# the pure one defines the results and words every error, so that they do not depend on how PyYAML
# was installed. The two differ on tabs, tags, block scalars and explicit keys (libyaml takes
# "title: !" as '' and a comment after ">", the pure parser None and an error), so front matter
# with any character that starts such a construct, rare in front matter, gets the pure one.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PURE_ONLY = re.compile(r"[\t!|>?&*%@`]")


def _compose(fm: str) -> yaml.Node | None:
    """The front matter's node tree; raises yaml.MarkedYAMLError as the pure-Python parser words it."""
    if _PURE_ONLY.search(fm):
        return _single_node(yaml.SafeLoader, fm)
    try:
        return _single_node(_FAST_LOADER, fm)
    except yaml.YAMLError:
        return _single_node(yaml.SafeLoader, fm)


def _single_node(loader_class, fm: str) -> yaml.Node | None:
    loader = loader_class(fm)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _parse_front_matter(fm: str, err) -> tuple[dict | None, dict[str, int]]:
    """YAML to a dict plus the file line of every key; constructs values one by one
    so that one bad value (say 2026-02-30) is reported at its line and others still are."""
    try:
        node = _compose(fm)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or "invalid YAML"
        err(
            line,
            f"front matter is not valid YAML: {problem}; check quotes and colons (a value "
            "containing ': ' needs quotes)",
        )
        return None, {}
    if node is None:
        err(1, "front matter is empty: add title, effective and summary")
        return None, {}
    if not isinstance(node, yaml.MappingNode):
        err(node.start_mark.line + 1, "front matter must be 'field: value' lines")
        return None, {}
    meta: dict = {}
    lines: dict[str, int] = {}
    constructor = yaml.SafeLoader("")
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            err(
                line,
                "a field name must be a plain word before the colon, e.g. 'title: Privacy Policy'",
            )
            continue
        key = key_node.value
        if key in lines:
            err(line, f"field '{key}' appears twice (first on line {lines[key]}): keep one")
            continue
        lines[key] = line
        try:
            meta[key] = constructor.construct_object(value_node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:
            meta[key] = _Invalid(value_node.value, str(exc))
    return meta, lines


@dataclass(frozen=True)
class _Invalid:
    """A value YAML recognised (e.g. as a date) but could not build."""

    text: str
    reason: str


def _check_effective(meta: dict, lines: dict[str, int], path: str, err) -> dt.date | None:
    if "effective" not in meta:
        err(
            1,
            "missing field 'effective': add the date this version takes effect, e.g. 'effective: 2026-04-01'",
        )
        return None
    value = meta["effective"]
    line = lines["effective"]
    if isinstance(value, _Invalid):
        err(line, f"effective: {value.text} is not a real date ({value.reason}): use YYYY-MM-DD")
        return None
    if isinstance(value, dt.datetime):
        err(line, "effective must be a date without a time: write YYYY-MM-DD")
        return None
    if not isinstance(value, dt.date):
        err(
            line,
            f"effective {str(value)!r} is not a date: write it as YYYY-MM-DD without quotes, e.g. "
            "'effective: 2026-04-01'",
        )
        return None
    expected = Path(path).name
    if expected != f"{value.isoformat()}.md":
        err(
            line,
            f"effective {value.isoformat()} does not match the file name {expected}: rename the "
            f"file to {value.isoformat()}.md or fix the date",
        )
        return None
    return value


def _first_h1_line(body_lines: list[str]) -> int:
    for number, line in enumerate(body_lines, start=1):
        if re.match(r"^#(?!#)\s", line) or re.match(r"^\s*<h1\b", line, re.IGNORECASE):
            return number
        if number > 1 and re.match(r"^=+\s*$", line) and body_lines[number - 2].strip():
            return number - 1
    return 1


def _check_policy(parsed: list[_Parsed], errors: list[ContentError]) -> tuple[Version, ...]:
    """Rules across the versions of one policy; returns versions oldest first."""
    parsed = sorted(parsed, key=lambda p: (p.version.effective, p.version.source_path))
    seen: dict[dt.date, str] = {}
    for item in parsed:
        v = item.version
        if v.effective in seen:
            errors.append(
                ContentError(
                    v.source_path,
                    item.lines["effective"],
                    f"two versions take effect on {v.effective.isoformat()} (the other is "
                    f"{seen[v.effective]}): give each version its own date",
                )
            )
        seen.setdefault(v.effective, v.source_path)
    for previous, item in zip(parsed, parsed[1:], strict=False):
        v = item.version
        if not v.summary and not v.draft:
            line = item.lines.get("summary", 1)
            errors.append(
                ContentError(
                    v.source_path,
                    line,
                    "summary is missing: say in plain words what changed since the previous "
                    "version, e.g. 'summary: We now keep API logs for 30 days instead of 90.'",
                )
            )
        if v.title != previous.version.title and not v.retitled:
            errors.append(
                ContentError(
                    v.source_path,
                    item.lines["title"],
                    f"title changed from '{previous.version.title}' to '{v.title}': if that is "
                    "intended add 'retitled: true', otherwise restore the title",
                )
            )
    return tuple(p.version for p in parsed)
