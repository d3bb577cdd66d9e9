"""Offline Atom (RFC 4287) validator for the test suite.

``validate_atom(path)`` returns a list of problems (empty list = valid):

1. RELAX NG validation with jing against ``tests/schemas/atom.rnc``
   (RFC 4287 Appendix B), and
2. the RFC's MUST rules that RELAX NG cannot express (Appendix B carries
   some of them as Schematron annotations, which jing ignores), checked
   here with xml.etree:

   * every atom:entry (and the atom:feed) has exactly one atom:id,
     atom:title and atom:updated (RFC 4.1.1, 4.1.2; RELAX NG interleave
     already enforces this, repeated here so the message is explicit);
   * the feed has an atom:author, or every entry has one (directly or via
     atom:source) -- Schematron rule on atom:feed / atom:entry, RFC 4.1.1;
   * an entry has an alternate link or an atom:content -- Schematron rule
     on atom:entry, RFC 4.1.2;
   * no two rel="alternate" links (a link without rel is "alternate",
     RFC 4.2.7.2) with the same type/hreflang in one entry or feed;
   * every atom:updated / atom:published is an RFC 3339 date-time with
     uppercase "T" and "Z" and no white space (RFC 3.3);
   * entry atom:id values are unique within the feed. NOTE: this one is
     this project's rule, stricter than the RFC, which allows repeated ids
     as versions of the same entry (RFC 4.1.1).
"""

from __future__ import annotations

import calendar
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

SCHEMA = Path(__file__).resolve().parent / "schemas" / "atom.rnc"
ATOM_NS = "http://www.w3.org/2005/Atom"
A = "{%s}" % ATOM_NS

# RFC 3339 section 5.6 "date-time", with RFC 4287 3.3's uppercase T and Z.
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?"
    r"(Z|[+-](\d{2}):(\d{2}))"
)


def _jing() -> str:
    jing = shutil.which("jing")
    if jing is None:
        raise AssertionError(
            "jing (RELAX NG validator) is not installed; "
            "run: apt-get install jing"
        )
    return jing


def _run_jing(path: Path) -> list[str]:
    result = subprocess.run(
        [_jing(), "-c", str(SCHEMA), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    messages = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 and not messages:
        # Debian's wrapper prints "[warning] /usr/bin/jing: Unable to locate
        # ..." about optional jars on stderr; keep everything else.
        messages = [
            line
            for line in result.stderr.splitlines()
            if line.strip() and not line.startswith("[warning]")
        ] or [f"jing exited with status {result.returncode}"]
    return messages


def is_rfc3339_date_time(value: str) -> bool:
    """True if ``value`` is an RFC 3339 date-time as RFC 4287 3.3 requires."""
    m = _DATE_TIME.fullmatch(value)
    if not m:
        return False
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not 1 <= month <= 12:
        return False
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    if hour > 23 or minute > 59 or second > 60:  # 60: leap second
        return False
    if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
        return False
    return True


def _describe(entry: ET.Element, index: int) -> str:
    ident = entry.find(A + "id")
    if ident is not None and ident.text:
        return f"entry #{index} ({ident.text.strip()})"
    return f"entry #{index}"


def _check_required(elem: ET.Element, what: str, problems: list[str]) -> None:
    for name in ("id", "title", "updated"):
        n = len(elem.findall(A + name))
        if n != 1:
            problems.append(f"{what}: must contain exactly one atom:{name}, found {n}")


def _check_alternates(elem: ET.Element, what: str, problems: list[str]) -> None:
    seen: set[tuple[str | None, str | None]] = set()
    for link in elem.findall(A + "link"):
        if link.get("rel", "alternate") != "alternate":
            continue
        key = (link.get("type"), link.get("hreflang"))
        if key in seen:
            problems.append(
                f"{what}: more than one atom:link rel=\"alternate\" with "
                f"type={key[0]!r} hreflang={key[1]!r}"
            )
        seen.add(key)


def _has_author(entry: ET.Element) -> bool:
    return (
        entry.find(A + "author") is not None
        or entry.find(f"{A}source/{A}author") is not None
    )


def _check_entry(entry: ET.Element, what: str, problems: list[str]) -> None:
    _check_required(entry, what, problems)
    _check_alternates(entry, what, problems)
    has_alternate = any(
        link.get("rel", "alternate") == "alternate" for link in entry.findall(A + "link")
    )
    if not has_alternate and entry.find(A + "content") is None:
        problems.append(
            f"{what}: must have an atom:link with rel=\"alternate\" or an atom:content"
        )


def _rule_checks(path: Path) -> list[str]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        return [f"{path}: not well-formed XML: {exc}"]
    problems: list[str] = []

    if root.tag == A + "feed":
        _check_required(root, "feed", problems)
        _check_alternates(root, "feed", problems)
        entries = root.findall(A + "entry")
        ids: dict[str, int] = {}
        for i, entry in enumerate(entries, 1):
            what = _describe(entry, i)
            _check_entry(entry, what, problems)
            for ident in entry.findall(A + "id"):
                value = (ident.text or "").strip()
                if value in ids:
                    problems.append(
                        f"{what}: atom:id {value!r} already used by entry #{ids[value]}"
                        " (duplicate entry id)"
                    )
                else:
                    ids[value] = i
        if root.find(A + "author") is None:
            for i, entry in enumerate(entries, 1):
                if not _has_author(entry):
                    problems.append(
                        f"{_describe(entry, i)}: has no atom:author and the feed "
                        "has none either"
                    )
    elif root.tag == A + "entry":
        _check_entry(root, "entry", problems)
        if not _has_author(root):
            problems.append("entry: an Atom Entry Document must have an atom:author")
    else:
        problems.append(
            f"root element is {root.tag!r}, not atom:feed or atom:entry "
            f"in namespace {ATOM_NS}"
        )
        return [f"{path}: {p}" for p in problems]

    for name in ("updated", "published"):
        for elem in root.iter(A + name):
            value = elem.text or ""
            if not is_rfc3339_date_time(value):
                problems.append(
                    f"atom:{name} {value!r} is not an RFC 3339 date-time"
                )
    return [f"{path}: {p}" for p in problems]


def validate_atom(path: Path) -> list[str]:
    """Validate the Atom document at ``path``; return problems ([] = valid)."""
    path = Path(path)
    return _run_jing(path) + _rule_checks(path)
