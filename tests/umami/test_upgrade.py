"""upgrade.py: backup first, then the pinned bump, pull, restart, health wait; and the
way back. Docker Compose is replaced by tests/umami/fake_compose.py (no engine here),
which runs the real pg_dump/pg_restore against a real PostgreSQL for the backups."""

from __future__ import annotations

import json
import shutil
import sys

import pytest

from umami_support import HERE, UMAMI, load_script, run_script
from umami_seed import seed, snapshot

NEW = "3.5.0@sha256:" + "a" * 64
CURRENT = load_script("upgrade").current_ref()
LOCK = (UMAMI / "umami.lock").read_text()


@pytest.fixture()
def setup(postgres, umami_db, tmp_path):
    compose = tmp_path / "compose.yaml"
    shutil.copy(UMAMI / "compose.yaml", compose)
    lock = tmp_path / "umami.lock"
    shutil.copy(UMAMI / "umami.lock", lock)
    log = tmp_path / "calls.jsonl"
    env = {**postgres.env(umami_db), "UMAMI_COMPOSE": f"{sys.executable} {HERE / 'fake_compose.py'}",
           "UMAMI_COMPOSE_FILES": str(compose), "UMAMI_LOCK": str(lock), "FAKE_LOG": str(log), "UMAMI_HEALTH_INTERVAL": "0.05",
           "BACKUP_DIR": str(tmp_path / "backups")}
    seed(postgres, umami_db)

    def upgrade(*args, **extra_env):
        return run_script("upgrade.py", *args, "--state-file", str(tmp_path / "state.json"), "--timeout", "5",
                          env={**env, **extra_env})

    def calls():
        if not log.exists():
            return []
        return [json.loads(line)["args"] for line in log.read_text().splitlines()]

    return {"upgrade": upgrade, "calls": calls, "compose": compose, "lock": lock, "tmp": tmp_path, "db": umami_db}


def test_current_pin_is_the_locked_source_and_the_deployed_tag():
    assert CURRENT == "3.1.0@sha256:9863b6d929221def153cf20b52219888fe08fe23eb54f8412aa3283e17263227"


def test_upgrade_backs_up_first_then_bumps_pulls_restarts_and_waits(setup):
    result = setup["upgrade"]("--to", NEW)
    assert result.returncode == 0, result.stderr
    # Both pins move together: what the suite builds (umami.lock) and what compose deploys.
    assert "    image: legalsite/umami:3.5.0\n" in setup["compose"].read_text()
    assert "legalsite/umami:3.1.0" not in setup["compose"].read_text()
    assert setup["lock"].read_text() == LOCK.replace("UMAMI_VERSION=3.1.0", "UMAMI_VERSION=3.5.0").replace(
        CURRENT.split(":")[1], "a" * 64).replace("v3.1.0.tar.gz", "v3.5.0.tar.gz")
    steps = [c[0] if c[0] != "exec" else f"exec {c[3]}" for c in setup["calls"]()]
    assert steps[:2] == ["exec pg_dump", "exec pg_restore"]  # dump, then its check
    assert steps[2:] == ["build", "up", "ps"]
    backups = list((setup["tmp"] / "backups").glob("umami-*-pre-3.1.0.dump"))
    assert len(backups) == 1 and backups[0].stat().st_size > 0
    state = json.loads((setup["tmp"] / "state.json").read_text())
    assert state["from"] == CURRENT and state["to"] == NEW and state["backup"] == str(backups[0])
    assert "--rollback" in result.stdout


def test_unhealthy_after_upgrade_says_how_to_go_back(setup):
    result = setup["upgrade"]("--to", NEW, FAKE_HEALTH="unhealthy")
    assert result.returncode == 1
    assert "docker compose logs umami" in result.stderr and "--rollback" in result.stderr


def test_rollback_restores_previous_pin_and_data(setup, postgres):
    before = snapshot(postgres, setup["db"])
    assert setup["upgrade"]("--to", NEW).returncode == 0
    # what a new release's migration and some traffic could do
    postgres.psql(setup["db"], "ALTER TABLE website_event ADD COLUMN new_col int; DELETE FROM session;")
    assert snapshot(postgres, setup["db"]) != before
    result = setup["upgrade"]("--rollback")
    assert result.returncode == 0, result.stderr
    assert "    image: legalsite/umami:3.1.0\n" in setup["compose"].read_text()
    assert setup["lock"].read_text() == LOCK
    assert snapshot(postgres, setup["db"]) == before
    assert "new_col" not in postgres.psql(setup["db"], "SELECT string_agg(column_name, ',') FROM "
                                          "information_schema.columns WHERE table_name = 'website_event'")
    steps = [c[0] if c[0] != "exec" else f"exec {c[3]}" for c in setup["calls"]()]
    rollback = steps[steps.index("ps") + 1:]
    assert rollback[:2] == ["build", "stop"] and rollback[-2:] == ["up", "ps"]
    assert "exec pg_restore" in rollback


@pytest.mark.parametrize("target,message", [
    ("latest", "VERSION@sha256:DIGEST"),
    ("3.5.0", "VERSION@sha256:DIGEST"),
    ("3.5.0@sha256:abc", "VERSION@sha256:DIGEST"),
    ("3.0.3@sha256:" + "b" * 64, "--rollback"),
    ("4.0.0@sha256:" + "c" * 64, "--allow-major"),
    (CURRENT, "already pinned"),
])
def test_bad_targets_change_nothing(setup, target, message):
    original = setup["compose"].read_text()
    result = setup["upgrade"]("--to", target)
    assert result.returncode == 2 and message in result.stderr
    assert (setup["compose"].read_text(), setup["lock"].read_text()) == (original, LOCK)
    assert setup["calls"]() == [] and not (setup["tmp"] / "backups").exists()


def test_failed_backup_stops_the_upgrade(setup):
    original = setup["compose"].read_text()
    result = setup["upgrade"]("--to", NEW, PGDATABASE="no_such_database")
    assert result.returncode == 1 and "pg_dump failed" in result.stderr
    assert setup["compose"].read_text() == original
    assert [c[0] for c in setup["calls"]()] == ["exec"]


def test_failed_pull_leaves_backup_and_state_for_the_way_back(setup):
    result = setup["upgrade"]("--to", NEW, FAKE_FAIL="build")
    assert result.returncode == 1 and "build" in result.stderr and "--rollback" in result.stderr
    assert (setup["tmp"] / "state.json").exists()


def test_rollback_without_an_upgrade(setup):
    result = setup["upgrade"]("--rollback")
    assert result.returncode == 2 and "nothing to roll back" in result.stderr


def test_deployed_and_tested_versions_that_differ_stop_the_upgrade(setup):
    setup["compose"].write_text(setup["compose"].read_text().replace("legalsite/umami:3.1.0", "legalsite/umami:3.0.3"))
    result = setup["upgrade"]("--to", NEW)
    assert (result.returncode, result.stderr) == (1, "error: compose.yaml deploys legalsite/umami:3.0.3 but "
                                                     "umami.lock pins 3.1.0: fix them to agree before upgrading\n")
    assert setup["calls"]() == []


def test_status(setup):
    result = setup["upgrade"]("--status")
    assert result.returncode == 0 and CURRENT in result.stdout
