"""Front matter: the YAML between the ``---`` lines of a policy file, with the line of every field.

Reads a source (a version, content.py, or a translation, translations.py) into its fields and
body; they validate what this reads. Every problem is reported through ``err(line, message)``
with the file's own line numbers.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import frontmatter
import yaml


class _StrictYAMLHandler(frontmatter.YAMLHandler):
    """python-frontmatter's YAML handler, with a delimiter that never eats a blank line.

    The stock pattern ``^-{3,}\\s*$`` can swallow the newline of an empty line
    after ``---``, which would shift every line number we report.
    """

    FM_BOUNDARY = re.compile(r"^-{3,}[ \t]*\r?$", re.MULTILINE)


HANDLER = _StrictYAMLHandler()


def read_source(
    path: str, raw: bytes, err, missing: str
) -> tuple[dict, dict[str, int], str, int] | None:
    """A source's front matter fields, the line of each, its body and the body's first line
    (the closing '---'); None once ``err`` has been told why not. ``missing``: the message for
    a file without front matter. For versions (content.py) and translations (translations.py)."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        err(raw[: exc.start].count(b"\n") + 1, "not valid UTF-8: save the file with UTF-8 encoding")
        return None
    if not HANDLER.detect(text):
        err(1, missing)
        return None
    try:
        fm, body = HANDLER.split(text)
    except ValueError:
        err(1, "front matter is not closed: add a line '---' after the last field")
        return None
    meta, lines = parse_front_matter(fm, err)
    return None if meta is None else (meta, lines, body, 1 + fm.count("\n"))


def unknown_fields(meta: dict, lines, fields, otherwise: str, err, retired=None) -> None:
    """Each field not in ``fields``, with the nearest known name, else ``otherwise``."""
    for key in meta:
        if key not in fields:
            hint = difflib.get_close_matches(str(key), fields, n=1)
            fix = (retired or {}).get(key) or (f"did you mean '{hint[0]}'?" if hint else otherwise)
            err(lines[key], f"unknown field '{key}': {fix}")


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


def _yaml_error(exc: yaml.MarkedYAMLError) -> tuple[int, str]:
    """The line (of the front matter, 1-based) and message of a YAML error. A quote or
    bracket never closed runs to the end of the front matter, where YAML notices it: the
    line that matters is the one where it opened (the error's context mark)."""
    problem = exc.problem or "invalid YAML"
    opened = exc.context_mark
    unclosed = opened is not None and ("end of stream" in problem or "<stream end>" in problem)
    if opened is not None and unclosed and exc.context == "while scanning a quoted scalar":
        return opened.line + 1, (
            "front matter is not valid YAML: the quoted value that starts on this line is never "
            "closed: end it with the same quote (' or \") on this line"
        )
    mark = opened if unclosed else exc.problem_mark or opened
    return (mark.line + 1 if mark else 1), (
        f"front matter is not valid YAML: {problem}; check quotes and colons (a value "
        "containing ': ' needs quotes)"
    )


def parse_front_matter(fm: str, err) -> tuple[dict | None, dict[str, int]]:
    """YAML to a dict plus the file line of every key; constructs values one by one
    so that one bad value (say 2026-02-30) is reported at its line and others still are."""
    try:
        node = _compose(fm)
    except yaml.MarkedYAMLError as exc:
        err(*_yaml_error(exc))
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


def check_effective(meta: dict, lines: dict[str, int], path: str, err) -> dt.date | None:
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
