"""Compare any two versions of a policy, without JavaScript (issue 15).

A static site cannot compute a redline when a reader asks for it, and a form
would need a server (and the CSP's ``form-action 'none'``), so every pair is a
page of its own, reached from the "Compare with" list on each version page:
``/<policy>/compare/<older>/<newer>/``. Consecutive versions are already
compared by ``/<policy>/<newer>/changes/``, which the list links instead, so a
policy of n versions gets (n-1)(n-2)/2 compare pages: 1,176 at 50 versions.
README ("Comparing any two versions") has what that costs, measured with
benchmarks/compare_cost.py; site.toml ``compare_any_two = false`` turns them off.

The pages go through the same machinery as the ``changes/`` pages: each is kept
in the store under its two versions' identities (an edit to one version redoes
only the n-1 pages that show it), its redline is the store's ``redline`` under
the same key (render.redline_key), and a cold build computes the redlines on
every core (:func:`redline_pairs` lists them for parallel.py). All are
``noindex`` and left out of the sitemap: they are near-copies of pages that are
indexed. The preview renders each only when asked for (:func:`page_at`, under the
same store key), audited then (pipeline.run's ``later``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .model import Policy, Site, Version

if TYPE_CHECKING:
    from .render import Entry, _Renderer


def pair_url(policy: str, older: Version, newer: Version) -> str:
    """Site path of the page comparing ``older`` with ``newer``."""
    return f"{policy}/compare/{older.slug}/{newer.slug}/"


def compare_url(entry: Entry, other: Entry, entries: Sequence[Entry]) -> str:
    """Where "compare ``entry`` with ``other``" leads: the ``changes/`` page of two
    consecutive versions, else the pair's compare page (older first, either way)."""
    versions = [e.version for e in entries]
    i, j = sorted((_index(versions, entry.version), _index(versions, other.version)))
    if j - i == 1:
        return entries[j].changes_url
    return pair_url(entry.version.policy, versions[i], versions[j])


def _index(versions: list[Version], version: Version) -> int:
    return next(n for n, v in enumerate(versions) if v is version)


def enabled(site: Site) -> bool:
    """site.toml ``compare_any_two`` (default true): false builds no compare pages."""
    return site.settings.compare_any_two


def pairs(policy: Policy, site: Site) -> list[tuple[int, int]]:
    """Indexes (older, newer) of the pairs that get a compare page: not consecutive ones."""
    count = len(policy.versions) if enabled(site) else 0
    return [(i, j) for i in range(count) for j in range(i + 2, count)]


def redline_pairs(site: Site) -> list[tuple[tuple, tuple[str, str]]]:
    """Every redline render_site may compute, for parallel.py: (its key, the two bodies), of
    consecutive versions (changes/ pages) and, with compare pages, of any two."""
    from .render import redline_key

    return [
        (redline_key(a, b), (a.body_html, b.body_html))
        for p in site.policies
        for i, j in [(n - 1, n) for n in range(1, len(p.versions))] + pairs(p, site)
        for a, b in [(p.versions[i], p.versions[j])]
    ]


def pages(renderer: _Renderer, policy: Policy) -> dict[str, bytes | None]:
    """The compare pages of ``policy`` (None: the output folder holds it already); none in
    the preview (a store that remembers), which renders each when asked for (:func:`page_at`):
    an edit to one version at 50 versions changes 47 of them (their redlines, templates and
    audits were most of a 0.4-0.5 s rebuild at 20 x 50), and nobody reads all of them."""
    if not enabled(renderer.site) or renderer.store.remember:
        return {}
    out: dict[str, bytes | None] = {}
    pieces: dict = {}  # parsed pieces of this policy's bodies, shared by its redlines
    for i, j in pairs(policy, renderer.site):
        url = pair_url(policy.slug, policy.versions[i], policy.versions[j])
        depends = renderer.changes_depends(policy, policy.versions[i], policy.versions[j])
        out[url + "index.html"] = renderer._cached(
            url, depends, lambda i=i, j=j: _render(renderer, policy, (i, j), pieces)
        )
    return out


def later(renderer: _Renderer) -> Callable[[str], bytes | None]:
    """render.SiteOutput.later: the preview's compare pages, made when asked for (a build
    has them all in its files, and lets the texts go before its audit)."""
    return functools.partial(page_at, renderer) if renderer.store.remember else no_page


def no_page(path: str) -> None:
    return None


def page_at(renderer: _Renderer, path: str) -> bytes | None:
    """The compare page at output ``path`` as :func:`pages` would render it, through the same
    store key; None if the site has no such page (the preview's pages on request)."""
    match = _PATH.match(path)
    wanted = [
        (policy, i, j)
        for policy in renderer.site.policies
        if match and policy.slug == match[1]
        for i, j in pairs(policy, renderer.site)  # not consecutive, older first
        if match and (policy.versions[i].slug, policy.versions[j].slug) == (match[2], match[3])
    ]
    if not wanted:
        return None
    policy, i, j = wanted[0]
    url = path.removesuffix("index.html")
    depends = renderer.changes_depends(policy, policy.versions[i], policy.versions[j])
    key = renderer.store.key("page", renderer.common, url, *depends)  # as render._cached
    return renderer.store.fetch("page", key, lambda: _render(renderer, policy, (i, j), {}))


_PATH = re.compile(r"^([^/]+)/compare/([^/]+)/([^/]+)/index\.html$")


def _render(renderer: _Renderer, policy: Policy, pair: tuple[int, int], pieces: dict) -> bytes:
    entries = renderer.entries[policy.slug]
    i, j = pair
    old, new = entries[i], entries[j]
    url = pair_url(policy.slug, old.version, new.version)
    return renderer.page(
        "compare.html",
        url,
        policy=policy,
        old=old,
        new=new,
        between=entries[i + 1 : j + 1],
        redline=renderer.redline_between(old.version, new.version, pieces),
        canonical_url=renderer.absolute(url),
        noindex=True,
    )
