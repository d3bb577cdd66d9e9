/*
 * The deployment's Next.js proxy (middleware) for Umami: the guard in front of Umami's
 * own routes, then Umami's own proxy (docker/proxy.ts, copied to src/umami-proxy.ts by
 * umami/build/build.sh) unchanged, so its rewrites (COLLECT_API_ENDPOINT,
 * TRACKER_SCRIPT_NAME) and checks keep working.
 *
 * Why a proxy.ts and not a separate guard service: Next.js 16 runs proxy.ts in Umami's
 * Node.js process before every route, so there is no extra service, port or parser;
 * Umami's code paths stay Umami's. What it adds:
 * - collect bodies outside the allow-list are refused (collect-guard.ts);
 * - /api/batch and /api/record, unused here, are refused;
 * - /api/heartbeat and collect answer 503 while the geo database is missing or not
 *   country-only (geo-check.ts), so the deployment does not come up healthy.
 * Refusals carry a fixed message and never a server path.
 */
import { type NextRequest, NextResponse } from 'next/server';
import { collectPaths, GUARD_PREFIX, REFUSED_PATHS, normalizePath, refusal } from './collect-guard';
import { geoProblem } from './geo-check';
import umamiProxy from './umami-proxy';

export const config = {
  matcher: '/:path*',
};

const HEARTBEAT_PATH = '/api/heartbeat';
const BODYLESS = new Set(['GET', 'HEAD', 'OPTIONS']);

function refuse(status: number, message: string) {
  return NextResponse.json({ error: message }, { status, headers: { 'Cache-Control': 'no-store' } });
}

export default async function proxy(request: NextRequest) {
  const path = normalizePath(request.nextUrl.pathname);

  if (REFUSED_PATHS.includes(path)) {
    return refuse(403, `${GUARD_PREFIX}: ${path} is not used by this deployment`);
  }

  const isCollect = collectPaths(process.env.COLLECT_API_ENDPOINT).includes(path);
  if (path === HEARTBEAT_PATH || isCollect) {
    const problem = await geoProblem();
    if (problem) {
      // eslint-disable-next-line no-console
      console.error(`geo check: ${problem} (GEOLITE_DB_PATH=${process.env.GEOLITE_DB_PATH ?? ''})`);
      return refuse(503, 'analytics is not available: its geo database check failed (see the server log)');
    }
  }

  if (isCollect && !BODYLESS.has(request.method)) {
    // Read as it is, not through request.clone(): Next.js gives the proxy its own copy of the
    // body (cloneBodyStream() in next-server.js) and the route another, so a clone here only
    // copied it a third time (about 4 % of Umami's CPU per page view in a profile).
    const reason = refusal(await request.text());
    if (reason) {
      return refuse(400, `${GUARD_PREFIX}: ${reason}`);
    }
  }

  return umamiProxy(request);
}
