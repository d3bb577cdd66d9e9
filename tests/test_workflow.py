"""The publish workflow: valid against the GitHub Actions schema, and it does what we rely on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "publish.yml"


def test_workflow_is_valid_against_the_schema():
    checker = Path(sys.executable).with_name("check-jsonschema")
    result = subprocess.run([str(checker), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_workflow_tests_then_builds_and_deploys_daily_after_midnight_utc():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key 'on' as true
    assert triggers["push"]["branches"] == ["main"]
    minute, hour, *rest = triggers["schedule"][0]["cron"].split()
    assert hour == "0" and int(minute) < 30 and rest == ["*", "*", "*"]
    jobs = workflow["jobs"]
    assert [step.get("run") for step in jobs["test"]["steps"] if "run" in step][-1] == "./scripts/test"
    assert jobs["build"]["needs"] == "test" and jobs["deploy"]["needs"] == "build"
    steps = [step.get("run") or step.get("uses", "") for step in jobs["build"]["steps"]]
    assert steps.index("./scripts/build-site") < steps.index(".venv/bin/python build.py lock --check --live") \
        < steps.index("actions/upload-pages-artifact@v3"), "the lock must be checked before the site is published"
    certificates = next(i for i, step in enumerate(steps) if "install" in step and "ca-certificates" in step)
    assert certificates < steps.index(".venv/bin/python build.py lock --check --live"), \
        "debian:bookworm has no CA certificates: the live site could not be read over HTTPS"
    assert workflow["concurrency"] == {"group": "publish", "cancel-in-progress": False}, \
        "one publication at a time: the live index read before deploying is the one deployed over"
    readme = (REPO / "README.md").read_text()
    assert "./scripts/test" in readme.split("\n## ")[0], "the README must open with the test command"
    assert (REPO / ".ci" / "run").read_text().rstrip().endswith("exec ./scripts/test")


def test_workflow_runs_in_debian_with_its_chromium_and_caches_pip():
    """Chromium from Debian's package (headless; the Ubuntu runner's apt chromium is a snap), the
    same Debian as CI for the tests and the published build, pip's downloads cached by the lock."""
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name in ("test", "build"):
        assert jobs[name]["container"]["image"] == "debian:bookworm", name
        caches = [step["with"] for step in jobs[name]["steps"] if step.get("uses", "").startswith("actions/cache@")]
        assert {"path": "~/.cache/pip", "key": "pip-bookworm-${{ hashFiles('requirements.lock') }}",
                "restore-keys": "pip-bookworm-"} in caches, name
    assert jobs["test"]["container"]["options"] == "--privileged"  # the visitor network namespace
    steps = [step.get("run") or step.get("uses", "") for step in jobs["test"]["steps"]]
    assert steps.index("actions/checkout@v4") < steps.index("./scripts/test")
    script = (REPO / "scripts" / "test").read_text()
    assert "debian_packages=(default-jre-headless jing chromium " in script and "apt-get" in (REPO / "scripts" / "_debian.sh").read_text()


def test_the_deploy_lands_on_the_day_the_lock_was_checked_for(tmp_path):
    """The check runs in the build job; the deploy is another job, minutes later (it waits for a
    runner): it refuses to publish on another UTC day than the build job recorded before the check."""
    import datetime as dt
    import os

    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    build = jobs["build"]["steps"]
    record = next(step for step in build if step.get("id") == "day")
    assert build.index(record) < next(i for i, s in enumerate(build) if s.get("run", "").endswith("--check --live"))
    assert jobs["build"]["outputs"] == {"day": "${{ steps.day.outputs.day }}"}
    output = tmp_path / "output"
    subprocess.run(["bash", "-c", record["run"]], env={**os.environ, "GITHUB_OUTPUT": str(output)}, check=True)
    today = dt.datetime.now(dt.UTC).date()
    assert output.read_text() == f"day={today.isoformat()}\n"

    guard = jobs["deploy"]["steps"][0]
    assert guard["env"] == {"CHECKED": "${{ needs.build.outputs.day }}"}

    def deploy(checked: dt.date) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", guard["run"]], env={**os.environ, "CHECKED": checked.isoformat()},
                              capture_output=True, text=True, check=False)

    assert deploy(today).returncode == 0
    yesterday = today - dt.timedelta(days=1)
    refused = deploy(yesterday)
    assert refused.returncode == 1 and refused.stdout.startswith(
        f"::error::versions.lock was checked for {yesterday.isoformat()} (UTC) but it is {today.isoformat()} now")
