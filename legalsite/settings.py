"""Load and validate ``site.toml``.

The file is optional: without it the build uses the defaults in
:class:`legalsite.model.Settings`. Every problem is reported as
``site.toml:line: message`` together with the fix, like content errors.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

from .model import Analytics, ContentError, ContentErrors, Settings
from .unreadable import read_file

# languages: issue 17, translations (translations.py)
SITE_KEYS = frozenset(
    "name base_url language languages contact_email notice_days compare_any_two".split()
)
ANALYTICS_KEYS = frozenset("origin website_id script_path domains".split())

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_SCRIPT_PATH = re.compile(r"^/[A-Za-z0-9._~/-]+$")


def is_placeholder(base_url: str) -> bool:
    """The shipped stand-in address, ``https://legal.1vy.example`` (an RFC 2606 ``.example``
    host, any port or path): the build warns and ``lock --live`` refuses to ask it anything."""
    host = urlsplit(base_url).hostname or ""
    return host == "example" or host.endswith(".example")


def _key_line(text: str, table: str, key: str) -> int:
    """The line of ``key = …`` inside ``[table]``, or of the table header, or 1."""
    current = ""
    table_line = 1
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
            if current == table:
                table_line = number
            continue
        if current == table and re.match(rf"^{re.escape(key)}\s*=", line):
            return number
    return table_line


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # only [analytics] needs it: not imported by every build

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url_fault(url: str, host_only: bool) -> str:
    """What is wrong with the site's or the analytics' address: "form" (not an absolute http(s)
    URL, or one with a query, a fragment or, ``host_only``, a path), "http" (plain http to a
    host that is not loopback), or ""."""
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or (host_only and parts.path not in ("", "/"))
    ):
        return "form"
    return "http" if parts.scheme == "http" and not is_loopback_host(parts.hostname) else ""


def load_settings(path: Path, display: str | None = None) -> Settings:
    """Read settings from ``path``; a missing file gives the defaults."""
    display = display or path.name
    raw = read_file(path, display, "pass --settings FILE")
    if raw is None:
        return Settings(source_path=display)
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ContentErrors(
            [ContentError(display, line, "not valid UTF-8: save the file as UTF-8")]
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise ContentErrors([ContentError(display, line, f"TOML syntax error: {message}")]) from exc
    return validate_settings(data, text, display)


def validate_settings(data: dict, text: str, display: str) -> Settings:
    errors: list[ContentError] = []

    def err(table: str, key: str, message: str) -> None:
        errors.append(ContentError(display, _key_line(text, table, key), message))

    for key in sorted(set(data) - {"site", "analytics"}):
        err(key, key, f"unknown table or key '{key}': use [site] and [analytics]")
    site = data.get("site", {})
    analytics = data.get("analytics", {})
    for table, values, allowed in (
        ("site", site, SITE_KEYS),
        ("analytics", analytics, ANALYTICS_KEYS),
    ):
        if not isinstance(values, dict):
            err(table, table, f"'{table}' must be a table: write [{table}] on its own line")
            continue
        for key in sorted(set(values) - allowed):
            err(
                table,
                key,
                f"unknown setting '{key}' in [{table}]: allowed are {', '.join(sorted(allowed))}",
            )
    if not isinstance(site, dict) or not isinstance(analytics, dict):
        raise ContentErrors(errors)

    defaults = Settings()
    name = site.get("name", defaults.name)
    if not isinstance(name, str) or not name.strip():
        err("site", "name", 'name must be a non-empty string, e.g. name = "1vy"')

    base_url = site.get("base_url", defaults.base_url)
    if not isinstance(base_url, str):
        err(
            "site",
            "base_url",
            'base_url must be a string, e.g. base_url = "https://legal.example.com"',
        )
        base_url = defaults.base_url
    elif fault := _url_fault(base_url, host_only=False):
        err(
            "site",
            "base_url",
            f"base_url '{base_url}' must be an absolute http(s) URL without query or fragment, e.g. \"https://legal.example.com\""
            if fault == "form"
            else f"base_url '{base_url}' must use https (plain http is only for localhost)",
        )
    base_url = base_url.rstrip("/")

    language = site.get("language", defaults.language)
    if not isinstance(language, str) or not _LANGUAGE.match(language):
        err(
            "site",
            "language",
            f'language {language!r} is not a language tag: use e.g. "en" or "en-GB"',
        )

    contact = site.get("contact_email", defaults.contact_email)
    if not isinstance(contact, str) or (contact and not _EMAIL.match(contact)):
        err(
            "site",
            "contact_email",
            f'contact_email {contact!r} is not an e-mail address: use e.g. "privacy@example.com", '
            'or "" until it is known',
        )

    notice_days = site.get("notice_days", defaults.notice_days)
    if (
        isinstance(notice_days, bool)
        or not isinstance(notice_days, int)
        or not 0 <= notice_days <= 365
    ):
        err(
            "site",
            "notice_days",
            f"notice_days {notice_days!r} must be a whole number of days from 0 to 365, e.g. 30",
        )

    # issue 15: pages comparing any two versions (legalsite/compare.py); costly at many versions
    compare_any_two = site.get("compare_any_two", defaults.compare_any_two)
    if not isinstance(compare_any_two, bool):
        err("site", "compare_any_two", "compare_any_two must be true or false (no quotes)")

    from .i18n import check_languages  # issue 17: the languages of translations

    languages = check_languages(
        site.get("languages", []), language, lambda m: err("site", "languages", m)
    )
    result_analytics = _validate_analytics(analytics, err)
    if errors:
        raise ContentErrors(errors)
    return Settings(
        name=name.strip(),
        base_url=base_url,
        language=language,
        languages=languages,
        contact_email=contact,
        notice_days=notice_days,
        compare_any_two=compare_any_two,
        analytics=result_analytics,
        source_path=display,
    )


def _validate_analytics(values: dict, err) -> Analytics:
    origin = values.get("origin", "")
    if not isinstance(origin, str):
        err("analytics", "origin", 'origin must be a string such as "https://stats.example.com"')
        return Analytics()
    if not origin:
        for key in sorted(set(values) & (ANALYTICS_KEYS - {"origin"})):
            if values[key] not in ("", [], None):
                err(
                    "analytics",
                    key,
                    f"'{key}' is set but origin is empty: set origin to turn analytics on, or remove '{key}'",
                )
        return Analytics()
    if fault := _url_fault(origin, host_only=True):
        err(
            "analytics",
            "origin",
            f"origin '{origin}' must be a scheme and host only, e.g. \"https://stats.example.com\""
            if fault == "form"
            else f"origin '{origin}' must use https (plain http is only for a loopback address)",
        )
    origin = origin.rstrip("/")

    import uuid  # only [analytics] needs it (and platform, which it imports: 5 ms)

    website_id = values.get("website_id", "")
    try:
        if not isinstance(website_id, str):
            raise ValueError
        website_id = str(uuid.UUID(website_id))
    except ValueError:
        err(
            "analytics",
            "website_id",
            f"website_id {website_id!r} must be the website's UUID from Umami (umami/README.md tells how to get it)",
        )

    script_path = values.get("script_path", Analytics.script_path)
    if (
        not isinstance(script_path, str)
        or not _SCRIPT_PATH.match(script_path)
        or not script_path.endswith(".js")
    ):
        err(
            "analytics",
            "script_path",
            f"script_path {script_path!r} must be an absolute path ending in .js, matching "
            'Umami\'s TRACKER_SCRIPT_NAME, e.g. "/script.js"',
        )

    domains = values.get("domains", [])
    if (
        not isinstance(domains, list)
        or not domains
        or not all(isinstance(d, str) and _HOSTNAME.match(d) for d in domains)
    ):
        err(
            "analytics",
            "domains",
            f'domains {domains!r} must be a non-empty list of host names to count, e.g. ["legal.example.com"]',
        )
        domains = []
    return Analytics(
        origin=origin,
        website_id=str(website_id),
        script_path=str(script_path),
        domains=tuple(domains),
    )
