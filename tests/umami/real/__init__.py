"""The real Umami in the suite: built from its pinned source archive, run behind the project's
Caddyfile, reached from a non-local visitor address. Fixture: `real_umami` (tests/umami/conftest.py)."""
