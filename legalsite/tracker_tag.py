"""The analytics tags every production page carries: ONE function, used by the site's
templates (templates/base.html through security.Tracker) and by umami/scripts/provision.py
--html, so what ops paste and what the site ships cannot differ.

Standard library only: provision.py runs as a plain script on the analytics host, without the
generator's dependencies. Escaping matches Jinja's autoescape (markupsafe), so a page renders
byte for byte as before this function existed.

The attributes are the privacy promises (README "Privacy"): Do-Not-Track honoured, no query
string, no fragment, no identity stitching, the before-send hook that keeps page views to
website, hostname, path and referrer. No data-host-url: the tracker sends to the origin it was
loaded from, which is the analytics origin.
"""

from __future__ import annotations

# The global function legalsite/umami-before-send.js defines; the tracker calls it before each send.
HOOK_FUNCTION = "umamiBeforeSend"

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def _escape(value: str) -> str:
    return value.translate(_ESCAPES)


def tracker_tags(script_src: str, website_id: str, domains: str, hook_src: str) -> str:
    """The same-origin before-send hook, then Umami's tracker; both deferred, so they run in
    that order. `domains` is comma-separated, as Umami's data-domains expects."""
    attrs = {
        "src": script_src,
        "data-website-id": website_id,
        "data-domains": domains,
        "data-do-not-track": "true",
        "data-exclude-search": "true",
        "data-exclude-hash": "true",
        "data-identity-stitching": "false",
        "data-before-send": HOOK_FUNCTION,
    }
    tracker = " ".join(f'{name}="{_escape(value)}"' for name, value in attrs.items())
    return f'<script defer src="{_escape(hook_src)}"></script>\n<script defer {tracker}></script>'
