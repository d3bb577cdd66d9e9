#!/usr/bin/env bash
# Build Umami from its pinned, sha256-verified source archive: the ONE build used by the test
# suite (tests/umami/real/) and by umami/Dockerfile, so the deployment runs what the suite tested.
#
#   umami/build/build.sh SOURCE_ARCHIVE OUT_DIR
#
# Reads umami/umami.lock and umami/guard/*.ts (beside this script).
# Needs on PATH: node and pnpm at the versions pinned in umami/umami.lock, and the npm registry.
# Steps are Umami's own Dockerfile steps (pnpm install --frozen-lockfile, docker/proxy.ts into
# src/ (behind the deployment's collect guard, umami/guard/), `build-docker`, standalone
# output), with three offline workarounds that keep Umami's
# code paths (facts in umami/README.md "How Umami is built"):
#   - next/font/google (a build-time fetch from Google) -> next/font/local with the same family
#     (Inter, variable weight, latin) from the npm package @fontsource-variable/inter;
#   - Prisma's generate step tries to download a schema engine it does not use for generation:
#     PRISMA_SCHEMA_ENGINE_BINARY names a placeholder so it does not;
#   - SKIP_BUILD_GEO=1: no GeoLite download; the deployment mounts its own country database.
# OUT_DIR gets: server.js and the traced node_modules (standalone), .next/static, public,
# prisma (schema + migrations), generated, scripts (+ dotenv for them), package.json.
# Written atomically.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../umami.lock
. "$here/../umami.lock"

fail() { echo "umami build: $*" >&2; exit 2; }

[ $# -eq 2 ] || fail "usage: umami/build/build.sh SOURCE_ARCHIVE OUT_DIR"
archive=$1
out=$2

[ -f "$archive" ] || fail "source archive $archive not found; get Umami v$UMAMI_VERSION from $UMAMI_URL"
actual=$(sha256sum "$archive" | cut -d' ' -f1)
[ "$actual" = "$UMAMI_SHA256" ] || fail "source archive $archive has sha256 $actual, but umami/umami.lock pins $UMAMI_SHA256 for v$UMAMI_VERSION: wrong or corrupted file"

command -v node >/dev/null || fail "node not found on PATH; install Node.js $NODE_VERSION (npm install node@$NODE_VERSION)"
command -v pnpm >/dev/null || fail "pnpm not found on PATH; install pnpm $PNPM_VERSION (npm install pnpm@$PNPM_VERSION)"
[ "$(node --version)" = "v$NODE_VERSION" ] || fail "node on PATH is $(node --version), umami/umami.lock pins v$NODE_VERSION"
[ "$(pnpm --version)" = "$PNPM_VERSION" ] || fail "pnpm on PATH is $(pnpm --version), umami/umami.lock pins $PNPM_VERSION"

work=$(mktemp -d "${TMPDIR:-/tmp}/umami-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
src="$work/umami-$UMAMI_VERSION"

echo "umami build: [1/5] unpacking v$UMAMI_VERSION"
tar -xzf "$archive" -C "$work"
[ -f "$src/package.json" ] || fail "source archive $archive has no umami-$UMAMI_VERSION/package.json"
grep -q "\"version\": \"$UMAMI_VERSION\"" "$src/package.json" \
  || fail "source archive $archive is not Umami v$UMAMI_VERSION (package.json version differs)"
cd "$src"

echo "umami build: [2/5] applying the offline workarounds"
# Umami's own proxy (docker/proxy.ts, what its image copies to src/proxy.ts) becomes
# src/umami-proxy.ts, and the deployment's collect guard (umami/guard/, see its proxy.ts)
# runs in front of it as src/proxy.ts.
guard="$here/../guard"
for file in proxy.ts collect-guard.ts geo-check.ts; do
  [ -f "$guard/$file" ] || fail "$guard/$file is missing (the deployment's collect guard)"
done
cp docker/proxy.ts src/umami-proxy.ts
cp "$guard/proxy.ts" "$guard/collect-guard.ts" "$guard/geo-check.ts" src/
(cd "$work" && npm pack --silent "@fontsource-variable/inter@$INTER_FONT_VERSION" >/dev/null \
  && tar -xzf "fontsource-variable-inter-$INTER_FONT_VERSION.tgz" package/files/inter-latin-wght-normal.woff2)
cp "$work/package/files/inter-latin-wght-normal.woff2" src/app/inter-latin-wght-normal.woff2
layout=src/app/layout.tsx
grep -q "^import { Inter } from 'next/font/google';$" "$layout" || fail "$layout: the next/font/google import changed; update umami/build/build.sh"
python3 - "$layout" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path, encoding="utf-8").read()
text = text.replace("import { Inter } from 'next/font/google';", "import localFont from 'next/font/local';")
text, count = re.subn(
    r"const inter = Inter\(\{.*?\}\);",
    "const inter = localFont({\n  src: './inter-latin-wght-normal.woff2',\n  display: 'swap',\n"
    "  variable: '--font-inter',\n});",
    text, count=1, flags=re.S)
if count != 1:
    sys.exit(f"umami build: {path}: the Inter() call changed; update umami/build/build.sh")
open(path, "w", encoding="utf-8").write(text)
PY
engine="$work/no-schema-engine"
printf '#!/bin/sh\necho "schema engine not available offline" >&2\nexit 1\n' > "$engine"
chmod +x "$engine"

echo "umami build: [3/5] pnpm install --frozen-lockfile"
pnpm install --frozen-lockfile --reporter=silent

echo "umami build: [4/5] build-docker (Prisma client, tracker, recorder, Next.js)"
# DATABASE_URL: a placeholder as in Umami's Dockerfile; nothing connects during the build.
PRISMA_SCHEMA_ENGINE_BINARY="$engine" SKIP_BUILD_GEO=1 NEXT_TELEMETRY_DISABLED=1 \
  DATABASE_URL="postgresql://build:build-time-test-dummy@localhost:5432/dummy" \
  pnpm run build-docker > "$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; fail "build-docker failed (log above)"; }

echo "umami build: [5/5] assembling $out"
stage="$out.partial.$$"
rm -rf "$stage"
mkdir -p "$stage"
cp -a .next/standalone/. "$stage/"
mkdir -p "$stage/.next"
cp -a .next/static "$stage/.next/static"
cp -a public prisma generated scripts package.json "$stage/"
# The image's start command runs scripts/update-tracker.js (COLLECT_API_ENDPOINT), which imports
# dotenv: Umami's own locked copy, not traced into the standalone output.
cp -rL node_modules/dotenv "$stage/node_modules/dotenv"
[ -f prisma.config.ts ] && cp prisma.config.ts "$stage/"
echo "$UMAMI_VERSION $UMAMI_SHA256" > "$stage/UMAMI_SOURCE"
rm -rf "$out"
mv "$stage" "$out"
echo "umami build: done, v$UMAMI_VERSION in $out"
