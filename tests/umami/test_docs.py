"""The runbook and DATA.md stay in step with what they describe."""

from __future__ import annotations

import re

import pytest

from umami_support import HERE, UMAMI, run_script

README = (UMAMI / "README.md").read_text()
DATA = (UMAMI / "DATA.md").read_text()


def columns(table: str) -> list[str]:
    schema = (HERE / "umami_schema.sql").read_text()
    body = re.search(rf"CREATE TABLE {table} \((.*?)\n\);", schema, re.S).group(1)
    return [line.split()[0] for line in body.strip().splitlines() if line.strip()]


@pytest.mark.parametrize("table", ["website_event", "session"])
def test_data_md_names_every_column_umami_stores(table):
    section = DATA.split(f"table `{table}`", 1)[1].split("\n## ", 1)[0]
    missing = [c for c in columns(table) if f"`{c}`" not in section and not
               (c.startswith("utm_") and "`utm_source` … `utm_term`" in section)]
    assert missing == []


def test_data_md_covers_every_table_retention_covers():
    sql = (UMAMI / "retention" / "retention.sql").read_text()
    covered = re.search(r"NOT IN \(([^)]*)\)", sql).group(1)
    for table in re.findall(r"'(\w+)'", covered):
        assert f"`{table}`" in DATA, table


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
    for key in ["POSTGRES_PASSWORD", "APP_SECRET", "UMAMI_HOST", "ACME_EMAIL", "RETENTION_DAYS",
                "REPLICATION_PASSWORD", "CLICKHOUSE_PASSWORD", "UMAMI_ADMIN_PASSWORD"]:
        assert key in keys and key in README, key
