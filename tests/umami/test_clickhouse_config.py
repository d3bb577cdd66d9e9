"""ClickHouse's system-log tables get a TTL: umami/clickhouse/config.d/system-log-ttl.xml, mounted
into ClickHouse's config.d by compose.clickhouse.yaml. ClickHouse itself cannot run here (not in
Debian, its registry and packages unreachable): these check the file against the settings
ClickHouse documents for system logs and the mount, not a running server."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from umami_support import UMAMI, compose_config

CONFIG = UMAMI / "clickhouse" / "config.d" / "system-log-ttl.xml"
# The system logs ClickHouse 24.3's default config.xml turns on (all MergeTree tables with event_date).
ON_BY_DEFAULT = {"query_log", "query_thread_log", "query_views_log", "part_log", "trace_log", "metric_log",
                 "asynchronous_metric_log", "crash_log", "processors_profile_log", "asynchronous_insert_log",
                 "backup_log", "s3queue_log", "blob_storage_log", "opentelemetry_span_log"}
# Off by default in 24.3: naming one in config.d would turn it on.
OFF_BY_DEFAULT = {"text_log", "session_log", "zookeeper_log", "filesystem_cache_log", "filesystem_read_prefetches_log"}
TTL = re.compile(r"(event_date|finish_date) \+ INTERVAL (\d+) DAY DELETE")


def test_every_system_log_on_by_default_gets_a_ttl_and_no_log_is_turned_on():
    root = ET.parse(CONFIG).getroot()
    assert root.tag == "clickhouse"
    sections = {child.tag: child for child in root}
    assert set(sections) == ON_BY_DEFAULT and not set(sections) & OFF_BY_DEFAULT
    days = set()
    for name, section in sections.items():
        settings = {child.tag: (child.text or "").strip() for child in section}
        if "engine" in settings:  # a full engine excludes `ttl`: the TTL is inside it
            assert set(settings) == {"engine"}, name
            match = TTL.search(settings["engine"])
            assert settings["engine"].startswith("engine MergeTree ") and " ttl " in settings["engine"], name
        else:
            assert set(settings) == {"ttl"}, name
            match = TTL.fullmatch(settings["ttl"])
        assert match, (name, settings)
        days.add(int(match[2]))
    assert days == {7}


def test_compose_mounts_it_into_clickhouses_config_d(compose_bin, env_file):
    result = compose_config(compose_bin, env_file(), "compose.yaml", "compose.clickhouse.yaml")
    assert result.returncode == 0, result.stderr
    volumes = json.loads(result.stdout)["services"]["clickhouse"]["volumes"]
    mount = next(v for v in volumes if v["target"].startswith("/etc/clickhouse-server/"))
    assert mount == {"type": "bind", "source": str(CONFIG), "target": "/etc/clickhouse-server/config.d/system-log-ttl.xml",
                     "read_only": True, "bind": {"create_host_path": True}}
