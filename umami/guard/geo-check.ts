/*
 * Is the deployment's geo database there, and country-only?
 *
 * Why: without a geo database Umami's collect answers 500 (losing the page view and
 * showing the database's path) while its /api/heartbeat still says healthy, and a city
 * database would store region and city, which the privacy policy does not name. proxy.ts
 * answers /api/heartbeat with 503 while this returns a problem, so the compose healthcheck
 * fails and Caddy, which waits for a healthy Umami, never starts serving.
 *
 * The file is read with `maxmind`, the very library and version Umami's detect.ts uses;
 * its metadata names the database type ("GeoLite2-Country", "GeoIP2-Country", ...). The
 * result is kept per (path, size, mtime), so a heartbeat every few seconds stats the file
 * instead of reading megabytes, and a replaced file is read again.
 */
import { statSync } from 'node:fs';
import maxmind from 'maxmind';

let checked: { key: string; problem: string | null } | null = null;

/** A message for operators (no path: it may reach a client), or null when all is well. */
export async function geoProblem(): Promise<string | null> {
  const path = process.env.GEOLITE_DB_PATH;
  if (!path) return 'GEOLITE_DB_PATH is not set: Umami would look for a city database';
  let key: string;
  try {
    const stat = statSync(path);
    key = `${path}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'the geo database (GEOLITE_DB_PATH) is missing';
  }
  if (checked?.key === key) return checked.problem;
  let problem: string | null = null;
  try {
    const reader = await maxmind.open(path);
    const type = String(reader.metadata.databaseType);
    if (!/-Country$/.test(type)) {
      problem = `the geo database (GEOLITE_DB_PATH) is a ${type} database, not a country-only one`;
    }
  } catch {
    problem = 'the geo database (GEOLITE_DB_PATH) is not a readable MaxMind database';
  }
  checked = { key, problem };
  return problem;
}
