"""Load and validate policy sources: ``content/<policy>/<YYYY-MM-DD>.md``.

Reading is separated from parsing: :func:`read_sources` (project.py) is the only
function that touches the disk; :func:`parse_policies` is pure, so tests and the
preview server can feed it files from memory. Every problem in every file is
collected and raised together as :class:`ContentErrors`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .allowlist import locate
from .front_matter import check_effective, read_source, unknown_fields
from .markup import Rendered, SectionMemo, make_markdown, render_body
from .model import ContentError, ContentErrors, Policy, Settings, Version
from .store import Store

# Top-level folders of the built site that are not policies.
RESERVED = {
    "assets": "stylesheet and images folder",
    "changelog": "changelog page",
    "schemas": "JSON Schema folder",
}
FIELDS = ("title", "effective", "summary", "draft", "date_precision", "retitled", "non_material")
_POLICY_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_VERSION_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.md$")
_TRANSLATION_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.([A-Za-z0-9-]+)\.md$")  # translations.py


@dataclass(frozen=True)
class _Parsed:
    """A file that parsed well enough to take part in policy-level checks."""

    version: Version
    lines: dict[str, int]  # field -> line, for policy-level messages


def parse_policies(
    sources: Mapping[str, bytes],
    content_prefix: str,
    placeholders: dict[str, str],
    store: Store | None = None,
    digests: Mapping[str, str] | None = None,
) -> tuple[Policy, ...]:
    """Parse and validate all sources; raise ContentErrors listing every problem.

    ``content_prefix`` is the content directory as it appears in the keys of
    ``sources`` (e.g. ``content``), so that ``content/privacy/2026-04-01.md``
    is policy ``privacy``. ``placeholders`` are the settings policy text may
    name as ``{{ name }}``. ``store``: where each file's result and each
    rendered block are kept (store.py); a fresh one in memory if None.
    ``digests``: the SHA-256 of each source, if known (stamp.Inputs): a file's parse is
    then found in the store without reading the file.
    """
    store = store if store is not None else Store()
    errors: list[ContentError] = []
    md = make_markdown(placeholders)
    sections = StoredSections(store, placeholders)  # blocks shared by versions (markup.render_body)
    by_policy: dict[str, list[_Parsed]] = {}
    settings = settings_key(placeholders)
    for path in sorted(sources):
        parts = source_parts(path, content_prefix)
        if len(parts) == 2 and _TRANSLATION_NAME.match(parts[1]):
            continue  # issue 17: a translation, parsed by translations.py
        if policy_of(path, content_prefix) is None:
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
        digest = digests[path] if digests else hashlib.sha256(sources[path]).hexdigest()
        parsed, found = store.get(
            "parse",
            (path, digest, settings),
            lambda: _parse_alone(path, parts[0], sources[path], md, sections),
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
    return (path, hashlib.sha256(raw).hexdigest(), settings_key(placeholders))


def source_parts(path: str, content_prefix: str) -> list[str]:
    """A source's path inside the content folder, split: ``[policy, file name]`` if well placed."""
    prefix = content_prefix.rstrip("/") + "/" if content_prefix else ""
    return (path[len(prefix) :] if path.startswith(prefix) else path).split("/")


def settings_key(placeholders: dict[str, str]) -> tuple:
    return tuple(sorted(placeholders.items()))


def policy_of(path: str, content_prefix: str) -> str | None:
    """The policy a source belongs to, or None for a misplaced file."""
    parts = source_parts(path, content_prefix)
    if len(parts) != 2 or not _VERSION_NAME.match(parts[1]) or not _POLICY_SLUG.match(parts[0]):
        return None
    return parts[0]


def parse_group(
    items: list[tuple[str, bytes]], placeholders: dict[str, str]
) -> tuple[
    list[tuple[str, tuple[_Parsed | None, tuple[ContentError, ...]]]], list[tuple[str, bytes]]
]:
    """Parse several files of one policy with one Markdown instance (for parallel.py,
    in a worker process); returns each file's store key and result as parse_policies
    stores them, and the blocks rendered meanwhile as (store key, pickle)."""
    md = make_markdown(placeholders)
    store = Store()  # the worker's own, in memory: the build's store takes what it returns
    sections = StoredSections(store, placeholders)
    results = [
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
        self._last: tuple[str | None, str] = (None, "")
        self.made: list[
            tuple[str, object]
        ] = []  # (key, block) rendered here: what a worker hands back

    def _key(self, text: str) -> str:
        """The block's key, by the SHA-256 of its text; made once for a get and the set after it."""
        if self._last[0] != text:  # render_body sets a block right after getting it
            digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
            self._last = (text, self._store.key("section", digest, self._settings))
        return self._last[1]

    def get(self, text: str, default=None):
        found, part = self._store.lookup("section", self._key(text))
        return part if found else default

    def __setitem__(self, text: str, part) -> None:
        key = self._key(text)
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
    path: str, policy: str, raw: bytes, md, sections: SectionMemo
) -> tuple[_Parsed | None, tuple[ContentError, ...]]:
    """One file's result and its own errors, so that the store can keep both."""
    errors: list[ContentError] = []
    return _parse_file(path, policy, raw, md, sections, errors), tuple(errors)


def _parse_file(
    path: str, policy: str, raw: bytes, md, sections: SectionMemo, errors: list[ContentError]
) -> _Parsed | None:
    def err(line: int, message: str) -> None:
        errors.append(ContentError(path, line, message))

    found = read_source(
        path,
        raw,
        err,
        "missing front matter: the file must start with a line '---', then title, effective "
        "and summary, then '---'",
    )
    if found is None:
        return None
    meta, lines, body, body_first_line = found
    unknown_fields(meta, lines, FIELDS, f"allowed fields are {', '.join(FIELDS)}", err, _RETIRED)

    title = meta.get("title")
    if "title" not in meta:
        err(1, "missing field 'title': add e.g. 'title: Privacy Policy'")
    elif not isinstance(title, str) or not title.strip():
        err(lines["title"], "title must be text, e.g. 'title: Privacy Policy'")

    effective = check_effective(meta, lines, path, err)

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

    non_material = meta.get("non_material", "")
    if not isinstance(non_material, str) or ("non_material" in meta and not non_material.strip()):
        err(
            lines["non_material"],
            "non_material must say why readers lose nothing by this change (it then takes effect "
            "without the notice period), e.g. 'non_material: Corrected the spelling of our "
            "processor's name'",
        )
        non_material = ""

    precision = meta.get("date_precision", "day")
    if precision not in ("day", "month"):
        err(lines["date_precision"], f"date_precision must be 'day' or 'month', not {precision!r}")

    if not body.strip():
        err(body_first_line, "the policy text is empty: write it below the closing '---'")
        return None
    rendered = render_checked(md, body, body_first_line, sections, err)

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
        non_material=non_material.strip(),
        effective_line=lines["effective"],
    )
    return _Parsed(version=version, lines=lines)


def _first_h1_line(body_lines: list[str]) -> int:
    for number, line in enumerate(body_lines, start=1):
        if re.match(r"^#(?!#)\s", line) or re.match(r"^\s*<h1\b", line, re.IGNORECASE):
            return number
        if number > 1 and re.match(r"^=+\s*$", line) and body_lines[number - 2].strip():
            return number - 1
    return 1


# Fields of earlier releases, refused with what to write instead.
_RETIRED = {  # the waiver before issue 15: no way around the notice
    "notice_waived": "a version takes effect before the notice period only when its change is "
    "not material: write 'non_material: <why readers lose nothing>' instead"
}


def render_checked(md, body: str, first: int, sections, err) -> Rendered:
    """The body through Markdown (``first``: its first line in the file), and what it may
    not contain reported at its line: a level-1 heading, an unknown setting, unsafe HTML."""
    rendered = render_body(md, body, sections)
    body_lines = body.split("\n")
    if rendered.has_h1:
        err(
            first - 1 + _first_h1_line(body_lines),
            "a level-1 heading ('# …') is not allowed: the page title comes from 'title'; use '## ' for sections",
        )
    for token in rendered.unknown_settings:
        known = ", ".join("{{ " + name + " }}" for name in md.setting_names) or "none"
        err(
            first - 1 + locate(body_lines, token),
            f"unknown setting {token}: policy text can use {known}",
        )
    for n, finding in enumerate(rendered.findings):  # the nth of a needle: its nth line
        skip = sum(f.needle == finding.needle for f in rendered.findings[:n])
        if finding.near:  # the nth of this very URL
            skip = sum(f.near == finding.near for f in rendered.findings[:n])
        err(first - 1 + locate(body_lines, finding.needle, skip, finding.near), finding.message)
    return rendered


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
