"""A country-only database in the MaxMind format, for the test's documentation addresses.

Why: the deployment reads a GeoLite2-Country database; the test needs one that is real in
format (Umami opens it with the `maxmind` library) but whose answers the test chooses, so a
country stored in PostgreSQL proves the lookup ran on the visitor's real address.
Written with mmdb-writer (PyPI). A city database is available too, for the test that a
deployment refuses one.
"""

from __future__ import annotations

from pathlib import Path

from .netns import VISITOR_RANGE

# Documentation ranges (RFC 5737) -> the country the test database gives them.
COUNTRIES = {str(VISITOR_RANGE): ("IS", "Iceland"), "203.0.113.0/24": ("NZ", "New Zealand")}
CITY = {"names": {"en": "Reykjavik"}}


def write(path: Path, kind: str = "country") -> Path:
    """Write a GeoLite2-Country (kind="country") or GeoLite2-City (kind="city") database."""
    from mmdb_writer import MMDBWriter  # imported here: only the real-server tests need it
    from netaddr import IPSet

    if kind not in ("country", "city"):
        raise ValueError(f"kind must be 'country' or 'city', not {kind!r}")
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True,
                        database_type="GeoLite2-Country" if kind == "country" else "GeoLite2-City",
                        languages=["en"], description={"en": "legalsite test database"})
    for network, (code, name) in COUNTRIES.items():
        record = {"country": {"iso_code": code, "names": {"en": name}}}
        if kind == "city":
            record["city"] = CITY
            record["subdivisions"] = [{"iso_code": "1", "names": {"en": "Capital Region"}}]
        writer.insert_network(IPSet([network]), record)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(path))
    return path
