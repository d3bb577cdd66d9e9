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
    has them all in its files, and lets the texts go before its audit), once :func:`check`
    found compare.html sound."""
    if not renderer.store.remember:
        return no_page
    check(renderer)
    return functools.partial(page_at, renderer)


def no_page(path: str) -> None:
    """The ``later`` of a build that makes nothing on request (every build but the
    preview's, and the preview before its first good build): no page at any path."""
    return None


def check(renderer: _Renderer) -> None:
    """The preview's rebuild, which renders no compare page: compare.html compiled (its
    bytecode is in the store, so a lookup when it did not change) and, when what every page
    shows changed (``renderer.common``: the templates, the settings), one compare page
    rendered, so that a broken compare.html fails the rebuild, as it fails build and check,
    not only the page a browser asks for. Raises what rendering raises."""
    if not enabled(renderer.site):
        return
    renderer.theme.env.get_template("compare.html")
    policy = next((p for p in renderer.site.policies if len(p.versions) > 2), None)
    if policy is not None:  # its first pair: its page stays in the store with the entry
        key = ("compare.html", renderer.common)
        renderer.store.get("checked", key, lambda: bool(_page(renderer, policy, 0, 2)))


def page_at(renderer: _Renderer, path: str) -> bytes | None:
    """The compare page at output ``path`` as :func:`pages` would render it, through the same
    store key; None if the site has no such page (the preview's pages on request). Found by
    the versions' slugs, not by listing every pair (0.48 s at 1,000 versions)."""
    match = _PATH.match(path)
    if match is None or not enabled(renderer.site):
        return None
    policy = next((p for p in renderer.site.policies if p.slug == match[1]), None)
    if policy is None:
        return None
    index = {version.slug: n for n, version in enumerate(policy.versions)}
    i, j = index.get(match[2]), index.get(match[3])
    if i is None or j is None or j - i < 2:  # as pairs(): not consecutive, older first
        return None
    return _page(renderer, policy, i, j)


def _page(renderer: _Renderer, policy: Policy, i: int, j: int) -> bytes:
    """The compare page of versions ``i`` and ``j``, under the key :func:`pages` gives it."""
    url = pair_url(policy.slug, policy.versions[i], policy.versions[j])
    depends = renderer.changes_depends(policy, policy.versions[i], policy.versions[j])
    key = renderer.store.key("page", renderer.common, url, *depends)  # as render._cached
    return renderer.store.fetch("page", key, lambda: _render(renderer, policy, (i, j), {}))


def could_be(path: str) -> bool:
    """Whether output ``path`` has a compare page's shape: the preview asks this before it
    waits for the build lock, so that a 404 or a favicon never waits for a rebuild."""
    return _PATH.match(path) is not None


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
