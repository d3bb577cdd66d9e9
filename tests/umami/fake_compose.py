"""Stand-in for `docker compose` (no container engine here) used by the upgrade tests.

Logs every call to $FAKE_LOG. `exec -T db TOOL ...` runs the real PostgreSQL client
tool on this machine against the test database (PG* environment), so backups and
restores in the upgrade flow are real. `ps --format json umami` reports $FAKE_HEALTH.
The subcommand named in $FAKE_FAIL fails.
"""
import json
import os
import subprocess
import sys

args = sys.argv[1:]
files = []
while args and args[0] in ("--project-directory", "-f"):
    if args[0] == "-f":
        files.append(args[1])
    args = args[2:]
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps({"args": args, "files": files}) + "\n")
sub = args[0] if args else ""
if sub == os.environ.get("FAKE_FAIL"):
    print(f"fake compose: {sub} failed", file=sys.stderr)
    sys.exit(1)
if sub == "exec":
    rest = args[1:]
    if rest[0] == "-T":
        rest = rest[1:]
    service, tool, *tool_args = rest
    assert service == "db", service
    # inside the container `-d umami` names the database; here it is $PGDATABASE
    tool_args = [os.environ["PGDATABASE"] if a == "umami" and i and tool_args[i - 1] == "-d" else a
                 for i, a in enumerate(tool_args)]
    sys.exit(subprocess.run([tool, *tool_args]).returncode)
if sub == "ps":
    print(json.dumps({"Service": "umami", "State": "running", "Health": os.environ.get("FAKE_HEALTH", "healthy")}))
sys.exit(0)
