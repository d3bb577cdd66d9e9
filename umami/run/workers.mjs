/*
 * Run Umami's server (server.js in the working directory) in UMAMI_WORKERS processes that share
 * one port, with Node's own `cluster` module.
 *
 * Why: Umami's JavaScript runs on one thread, and one process spends about 5 ms of CPU per page
 * view, so one process tops out near one core's worth of page views while the host's other
 * cores idle (umami/README.md section 12 has the figures). Umami's collect route keeps no state
 * between requests in the process (sessions and visits are computed from the request and the
 * database: src/app/api/send/route.ts), so any worker can take any request. The primary accepts
 * connections on PORT and hands each to a worker in turn (cluster's round-robin); it runs no
 * Umami code. The compose healthcheck and Caddy see one address, as before.
 *
 * Used by the image's start command (umami/Dockerfile) and by the test suite's harness
 * (tests/umami/real/harness.py), so what is tested is what runs.
 *
 * Failure handling: a worker that dies is replaced after a second; if workers die more than
 * MAX_DEATHS times within a minute the primary stops them all and exits 1, so the container
 * restarts and its health check shows it, instead of a crash loop hidden inside a healthy
 * container. SIGTERM / SIGINT go to every worker (Next.js's own graceful stop); the primary
 * exits when they have.
 */
import cluster from 'node:cluster';
import path from 'node:path';

const MAX_DEATHS = 5;
const raw = process.env.UMAMI_WORKERS ?? '2';
const count = Number(raw);

if (!/^[1-9][0-9]?$/.test(raw) || count > 32) {
  console.error(`umami workers: UMAMI_WORKERS must be a whole number from 1 to 32, not "${raw}"`);
  process.exit(2);
}

cluster.setupPrimary({ exec: path.join(process.cwd(), 'server.js') });

let stopping = false;
let exitCode = 0;
let deaths = [];

function start() {
  const worker = cluster.fork();
  worker.on('exit', (code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers).length === 0) process.exit(exitCode);
      return;
    }
    const now = Date.now();
    deaths = [...deaths.filter(t => now - t < 60_000), now];
    console.error(`umami workers: worker ${worker.process.pid} exited (${signal ?? code})`);
    if (deaths.length > MAX_DEATHS) {
      console.error(`umami workers: ${deaths.length} workers died within a minute; stopping`);
      stop(1);
      return;
    }
    setTimeout(() => stopping || start(), 1000);
  });
}

function stop(code) {
  stopping = true;
  exitCode = code;
  const workers = Object.values(cluster.workers);
  if (workers.length === 0) process.exit(exitCode);
  for (const worker of workers) worker.process.kill('SIGTERM');
  setTimeout(() => process.exit(exitCode), 10_000).unref();
}

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => stop(0));
}

console.log(`umami workers: starting ${count} worker(s) of ${cluster.settings.exec}`);
for (let i = 0; i < count; i++) start();
