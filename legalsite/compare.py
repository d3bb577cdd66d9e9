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
every core (render.redline_pairs lists them for parallel.py). All are
``noindex`` and left out of the sitemap: they are near-copies of pages that are
indexed.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def pairs(policy: Policy) -> list[tuple[int, int]]:
    """Indexes (older, newer) of the pairs that get a compare page: not consecutive ones."""
    count = len(policy.versions)
    return [(i, j) for i in range(count) for j in range(i + 2, count)]


def redline_pairs(site: Site) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """The compare pages' redlines, as render.redline_pairs lists the others: (key, bodies)."""
    from .render import redline_key

    out = []
    for policy in site.policies if enabled(site) else ():
        for i, j in pairs(policy):
            old, new = policy.versions[i], policy.versions[j]
            out.append((redline_key(old, new), (old.body_html, new.body_html)))
    return out


def pages(renderer: _Renderer, policy: Policy) -> dict[str, bytes | None]:
    """The compare pages of ``policy`` (None: the output folder holds it already).

    The preview (a store that remembers) keeps them as one entry of the store too, under
    the policy's outline and its versions' identities (what every one of its compare pages
    depends on): (n-1)(n-2)/2 pages, 1,176 at 50 versions, that each cost a store key and a
    lookup on every reload even when nothing of the policy changed. A reload after one
    edit on the 20 x 50 site took 0.63 s, of which about half was those keys."""
    if not enabled(renderer.site):
        return {}
    if not renderer.store.remember:
        return _pages(renderer, policy)
    from .render import _identity

    identities = tuple(_identity(v) for v in policy.versions)
    key = renderer.store.key("compare", renderer.common, renderer.outline[policy.slug], identities)

    def compute() -> tuple[dict[str, bytes | None], dict[str, str]]:
        made = _pages(renderer, policy)
        return made, {path: renderer.page_keys[path] for path in made}

    made, keys = renderer.store.fetch("compare", key, compute)
    renderer.page_keys.update(keys)
    renderer.keys.update((path.removesuffix("index.html"), key) for path, key in keys.items())
    return made


def _pages(renderer: _Renderer, policy: Policy) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    entries = renderer.entries[policy.slug]
    pieces: dict = {}  # parsed pieces of this policy's bodies, shared by its redlines
    for i, j in pairs(policy):
        old, new = entries[i], entries[j]
        url = pair_url(policy.slug, old.version, new.version)

        def render(old=old, new=new, url=url, between=entries[i + 1 : j + 1]) -> bytes:
            return renderer.page(
                "compare.html",
                url,
                policy=policy,
                old=old,
                new=new,
                between=between,
                redline=renderer.redline_between(old.version, new.version, pieces),
                canonical_url=renderer.absolute(url),
                noindex=True,
            )

        out[url + "index.html"] = renderer._cached(
            url, renderer.changes_depends(policy, old.version, new.version), render
        )
    return out
