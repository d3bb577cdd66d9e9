"""The runbook and DATA.md stay in step with what they describe."""

from __future__ import annotations

import re

import pytest

from umami_support import UMAMI, run_script

README = (UMAMI / "README.md").read_text()
DATA = (UMAMI / "DATA.md").read_text()


def data_md_fields() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """DATA.md's table of fields: (visitor tables, kept tables) -> their columns.
    A section titled "... table `x`" lists x's columns in its first cell; a table whose
    header is `| table | columns |` lists one table per row."""
    visitor: dict[str, set[str]] = {}
    kept: dict[str, set[str]] = {}
    for section in DATA.split("\n## ")[1:]:
        title, body = section.split("\n", 1)
        target = kept if title.startswith("Not visitor data") else visitor
        single = re.search(r"table `(\w+)`$", title)
        for row in re.findall(r"^\| (.+?) \|(.*)$", body, re.M):
            cells = [c.strip() for c in (row[0] + "|" + row[1]).split("|")]
            if single:
                names = re.findall(r"`(\w+)`", cells[0])
                target.setdefault(single.group(1), set()).update(names)
            elif re.fullmatch(r"`\w+`", cells[0]) and len(cells) > 1:
                target.setdefault(cells[0].strip("`"), set()).update(re.findall(r"`(\w+)`", cells[1]))
    return visitor, kept


def real_columns(postgres, db: str) -> dict[str, set[str]]:
    rows = postgres.psql(db, "SELECT table_name || ' ' || column_name FROM information_schema.columns "
                             "WHERE table_schema = 'public'").splitlines()
    found: dict[str, set[str]] = {}
    for row in rows:
        table, column = row.split()
        found.setdefault(table, set()).add(column)
    return found


def test_data_md_lists_exactly_the_tables_and_columns_of_the_real_schema(postgres, umami_db):
    """On today's main this fails: DATA.md lacked lcp/inp/cls/fcp/ttfb, board, share, session_replay*."""
    visitor, kept = data_md_fields()
    assert {**visitor, **kept} == real_columns(postgres, umami_db)
    assert not visitor.keys() & kept.keys()


def test_retention_classifies_tables_as_data_md_does():
    sql = (UMAMI / "retention" / "retention.sql").read_text()
    classes = {name: set(re.findall(r"'(\w+)'", re.search(rf"{name} := ARRAY\[([^]]*)\]", sql).group(1)))
               for name in ("visitor", "kept")}
    visitor, kept = data_md_fields()
    assert (classes["visitor"], classes["kept"]) == (set(visitor), set(kept))


@pytest.mark.parametrize("script,flags", [
    ("provision.py", ["--url", "--domain", "--html"]),
    ("backup.py", ["--label", "--keep"]),
    ("restore.py", ["--yes"]),
    ("retention.py", ["--dry-run"]),
    ("upgrade.py", ["--to", "--rollback", "--allow-major"]),
])
def test_runbook_commands_exist(script, flags):
    assert f"scripts/{script}" in README
    help_text = run_script(script, "--help").stdout
    for flag in flags:
        assert flag in help_text and flag in README, (script, flag)


def test_geoip_runbook_flags_exist():
    help_text = run_script("geoip.py", "fetch", "--help").stdout
    for flag in ["--source", "--restart"]:
        assert flag in help_text and flag in README


def test_runbook_and_env_example_agree_on_settings():
    example = (UMAMI / ".env.example").read_text()
    keys = re.findall(r"^([A-Z_]+)=", example, re.M)
    for key in ["POSTGRES_PASSWORD", "APP_SECRET", "REDIS_PASSWORD", "UMAMI_HOST", "ACME_EMAIL",
                "RETENTION_DAYS",
                "REPLICATION_PASSWORD", "CLICKHOUSE_PASSWORD", "UMAMI_ADMIN_PASSWORD"]:
        assert key in keys and key in README, key
