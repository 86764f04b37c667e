// npm run bench:sandbox: the sandbox collector under load, and what it keeps
// across kill -9. A benchmark, not a test: it measures and prints, and fails
// only when a record is lost or stored twice.
//
// - Load: POSTS tracking POSTs (default 20,000) at concurrency 50 and 200 over
//   kept-alive connections, half of them repeats of an earlier tracking
//   (which the sandbox must count as deliveries, not store again); requests
//   per second and latency p50/p99.
// - Durability: the same load at concurrency 50 against a database file,
//   the process killed with SIGKILL mid-load, three times; every tracking
//   whose POST was answered 200 or 201 must be there after a restart.
//
// Writes bench/sandbox.json and prints a table for the README.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'target/release/onramp-sandbox');
const POSTS = Number(process.env.BENCH_POSTS || 20_000);

function start(db) {
  const child = spawn(bin, ['--port', '0', '--db', db], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`onramp-sandbox exited with ${code}`)));
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = out.match(/listening on (http:\/\/\S+)/);
      if (match) {
        child.removeAllListeners('exit');
        resolve({ child, url: new URL(match[1]) });
      }
    });
  });
}

function stop(child, signal = 'SIGTERM') {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', resolve);
    child.kill(signal);
  });
}

const body = (customerId) =>
  JSON.stringify({ partnerKey: 'pk_bench', serviceName: 'bench', customerId, purchasedAt: '2026-11-26T18:43:01Z' });

/**
 * POSTs `total` trackings at `concurrency`; every other one repeats an
 * earlier id. Resolves latencies (ms), statuses and the ids acknowledged.
 */
async function load(url, total, concurrency, prefix, { stopAfterMs } = {}) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies = [];
  const statuses = {};
  const acknowledged = new Set();
  let next = 0;
  let stopped = false;
  const begun = process.hrtime.bigint();
  if (stopAfterMs) setTimeout(() => (stopped = true), stopAfterMs);
  const one = (i) =>
    new Promise((resolve) => {
      const id = `${prefix}-${i % 2 === 1 ? Math.floor(i / 2) : i / 2}`;
      const sent = process.hrtime.bigint();
      const req = http.request(
        { host: url.hostname, port: url.port, path: '/api/SaasTrackings', method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(Number(process.hrtime.bigint() - sent) / 1e6);
            statuses[res.statusCode] = (statuses[res.statusCode] || 0) + 1;
            if (res.statusCode === 200 || res.statusCode === 201) acknowledged.add(id);
            resolve();
          });
        },
      );
      req.on('error', () => {
        statuses.error = (statuses.error || 0) + 1;
        resolve();
      });
      req.end(body(id));
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total && !stopped) await one(next++);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - begun) / 1e9;
  agent.destroy();
  return { latencies, statuses, acknowledged, seconds, sent: next };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
};

async function stored(url) {
  const text = await new Promise((resolve, reject) =>
    http
      .get({ host: url.hostname, port: url.port, path: '/api/SaasTrackings' }, (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (data += c));
        res.on('end', () => resolve(data));
      })
      .on('error', reject),
  );
  return JSON.parse(text);
}

const problems = [];
const rows = [];
const dir = mkdtempSync(join(tmpdir(), 'onramp-bench-sandbox-'));
try {
  for (const concurrency of [50, 200]) {
    const db = join(dir, `load-${concurrency}.db`);
    const { child, url } = await start(db);
    const run = await load(url, POSTS, concurrency, `c${concurrency}`);
    const all = await stored(url);
    await stop(child);
    const unique = new Set(all.map((t) => t.customerId));
    const deliveries = all.reduce((n, t) => n + t.deliveries, 0);
    const answered = (run.statuses[200] || 0) + (run.statuses[201] || 0);
    if (unique.size !== all.length) problems.push(`concurrency ${concurrency}: a tracking stored twice`);
    if (deliveries !== answered) problems.push(`concurrency ${concurrency}: ${answered} acknowledged, ${deliveries} deliveries counted`);
    if (all.length !== run.acknowledged.size) problems.push(`concurrency ${concurrency}: ${run.acknowledged.size} acknowledged, ${all.length} stored`);
    rows.push({
      concurrency,
      posts: run.sent,
      perSecond: Math.round(run.sent / run.seconds),
      p50: quantile(run.latencies, 0.5),
      p99: quantile(run.latencies, 0.99),
      statuses: run.statuses,
      stored: all.length,
      storedTwice: all.length - unique.size,
      deliveries,
    });
  }

  const durability = [];
  const db = join(dir, 'durability.db');
  for (let round = 1; round <= 3; round++) {
    const { child, url } = await start(db);
    const running = load(url, POSTS, 50, `kill${round}`);
    await new Promise((r) => setTimeout(r, 1500));
    await stop(child, 'SIGKILL');
    const run = await running;
    const again = await start(db);
    const kept = new Set((await stored(again.url)).map((t) => t.customerId));
    await stop(again.child);
    const lost = [...run.acknowledged].filter((id) => !kept.has(id));
    if (lost.length) problems.push(`kill -9 round ${round}: ${lost.length} acknowledged trackings lost`);
    durability.push({ round, acknowledged: run.acknowledged.size, lost: lost.length });
  }

  const lines = [
    '| concurrency | POSTs (half repeats) | requests/s | p50 ms | p99 ms | stored | stored twice | not answered 2xx |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.concurrency} | ${r.posts} | ${r.perSecond} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.stored} | ${r.storedTwice} | ${r.posts - (r.statuses[200] || 0) - (r.statuses[201] || 0)} |`,
    ),
    '',
    '| kill -9 mid-load | acknowledged (200/201) | kept after restart |',
    '|---:|---:|---:|',
    ...durability.map((d) => `| round ${d.round} | ${d.acknowledged} | ${d.acknowledged - d.lost} |`),
  ];
  console.log(lines.join('\n'));
  const date = new Date().toISOString().slice(0, 10);
  mkdirSync(join(root, 'bench'), { recursive: true });
  writeFileSync(join(root, 'bench/sandbox.json'), JSON.stringify({ date, posts: POSTS, load: rows, durability }, null, 2) + '\n');
  // docs/sandbox.md shows the tables between its markers.
  const page = join(root, 'docs/sandbox.md');
  const text = readFileSync(page, 'utf8');
  const [open, close] = ['<!-- bench:sandbox: written by npm run bench:sandbox -->\n', '<!-- /bench:sandbox -->'];
  const start = text.indexOf(open) + open.length;
  const end = text.indexOf(close);
  if (start < open.length || end < start) throw new Error('docs/sandbox.md has no bench:sandbox markers');
  writeFileSync(page, text.slice(0, start) + `Measured on ${date}.\n\n` + lines.join('\n') + '\n' + text.slice(end));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
if (problems.length) {
  console.error('\n' + problems.join('\n'));
  process.exit(1);
}
