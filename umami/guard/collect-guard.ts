/*
 * The deployment's collect guard: which collect bodies may reach Umami.
 *
 * Why here: Umami's collect endpoint believes `ip`, `userAgent`, `browser`, `os`, `device`,
 * `timestamp` and `id` from the JSON body and stores any custom `data` (event_data,
 * session_data), so country, session hash and dates would be whatever a client says.
 * The proxy's header rules cannot reach a body, and a pattern over the raw body is
 * bypassed by JSON escapes ("\u0069p"), so the body is parsed here - with the same
 * JSON.parse Umami's own parseRequest uses, in Umami's own process (proxy.ts), so the
 * guard and Umami can never read one body two ways.
 *
 * The rule is an allow-list, exactly what the site's before-send hook sends
 * (umami/tracker/before-send.js): {type: "event", payload: {website, hostname, url,
 * referrer}}, url a path without query or fragment, referrer an origin, hostname shaped like
 * a hostname, and no string with a control character (PostgreSQL refuses U+0000 in text, so a
 * NUL would be a 500 and a lost page view). Anything else is refused whole (400); nothing is
 * rewritten, so what Umami stores is what was checked.
 */

export const GUARD_PREFIX = "refused by the deployment's collect guard";

// Paths Umami collects on. COLLECT_API_ENDPOINT (compose.yaml) is added by proxy.ts.
export const COLLECT_PATHS = ['/api/send'];
// Collect endpoints this deployment never uses: the tracker sends one event per request
// (/api/batch would pass each item to /api/send) and session replays are off (/api/record).
export const REFUSED_PATHS = ['/api/batch', '/api/record'];

const TOP_LEVEL = new Set(['type', 'payload']);
const TYPES = new Set(['event']);
const PAYLOAD = new Set(['website', 'hostname', 'url', 'referrer']);
// C0 controls and DEL: never in a path, origin or hostname the tracker reads from the page.
const CONTROL = /[\u0000-\u001f\u007f]/;
// What location.hostname gives for a site: lowercase DNS labels (IDN as punycode) or an
// IPv4 address; 100 is the length of Umami's website_event.hostname column.
const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const HOSTNAME_MAX = 100;

/** The path as Next.js may route it: percent-decoded, case-folded, no doubled or trailing
 *  slashes, so no spelling of a collect path slips past the comparison. */
export function normalizePath(pathname: string): string {
  let path = pathname;
  for (let i = 0; i < 3; i++) {
    try {
      const decoded = decodeURIComponent(path);
      if (decoded === path) break;
      path = decoded;
    } catch {
      break;
    }
  }
  path = path.toLowerCase().replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  return path || '/';
}

/** The normalised paths Umami collects on, given COLLECT_API_ENDPOINT: Umami's own matcher
 *  accepts the setting with or without its leading slash ("api/p"), so the guard must too. */
export function collectPaths(custom: string | undefined): string[] {
  return custom ? [...COLLECT_PATHS, normalizePath(`/${custom.replace(/^\/+/, '')}`)] : COLLECT_PATHS;
}

/** Why a collect body is refused, or null when it may reach Umami. */
export function refusal(text: string): string | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'the body is not JSON';
  }
  if (!isObject(body)) return 'the body must be a JSON object';
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL.has(key)) return `field ${JSON.stringify(key)} is not accepted`;
  }
  if (!TYPES.has(body.type as string)) return `type ${JSON.stringify(body.type ?? null)} is not accepted`;
  const payload = body.payload;
  if (!isObject(payload)) return 'payload must be a JSON object';
  for (const [key, value] of Object.entries(payload)) {
    if (!PAYLOAD.has(key)) return `payload field ${JSON.stringify(key)} is not accepted`;
    if (typeof value !== 'string') return `payload field ${JSON.stringify(key)} must be a string`;
    if (CONTROL.test(value)) return `payload field ${JSON.stringify(key)} must not contain a control character`;
  }
  const hostname = payload.hostname as string | undefined;
  if (hostname !== undefined && (hostname.length > HOSTNAME_MAX || !HOSTNAME.test(hostname))) {
    return `payload field "hostname" must be a hostname such as "legal.example.org" (lowercase, at most ${HOSTNAME_MAX} characters)`;
  }
  const url = payload.url as string | undefined;
  if (url !== undefined && !isPath(url)) {
    return 'payload field "url" must be a path without query or fragment';
  }
  const referrer = payload.referrer as string | undefined;
  if (referrer !== undefined && !isOrigin(referrer)) {
    return 'payload field "referrer" must be an origin such as "https://example.org/"';
  }
  return null;
}

/** A path as the hook sends it (`URL.pathname`). Umami resolves `url` against
 *  https://<hostname> with the WHATWG parser, so anything that parser would read as another
 *  host ("//x", "/\\x"), a query or a fragment (which Umami would store in url_query and the
 *  UTM columns) is refused here by the same parser's rules. */
function isPath(url: string): boolean {
  if (!url.startsWith('/') || /[?#\\]/.test(url)) return false;
  try {
    return new URL(url, 'https://guard.invalid').host === 'guard.invalid';
  } catch {
    return false;
  }
}

/** An origin as the hook sends it (`URL.origin + "/"`), to the letter: the WHATWG parser
 *  reads "https://a.example\\b/" as a path /b/ and "https://u@a.example/" as carrying a user,
 *  which a pattern misses and Umami would store in referrer_path. */
function isOrigin(value: string): boolean {
  try {
    const parsed = new URL(value);
    return (parsed.protocol === 'https:' || parsed.protocol === 'http:') && value === `${parsed.origin}/`;
  } catch {
    return false;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
