// npm run bench:relay: onramp-relay delivering to the sandbox on this
// machine. A benchmark, not a test: it measures and prints, and fails only
// when a row is not delivered.
//
// For one relay over Postgres, four over Postgres and one over SQLite:
// - throughput: ROWS rows (default 10,000) committed while no relay runs,
//   then the relays started: rows per second until the last is sent;
// - latency: relays idle, then LATENCY_ROWS rows (default 200) committed one
//   at a time, 25 ms apart: from each row's commit (its created_at, written
//   by the database in the row's own one-statement transaction) to the
//   sandbox's receivedAt, p50 and p95.
//
// The sandbox keeps its trackings in memory (the relay is measured, not the
// sandbox's disk). Writes bench/relay.json and the table in docs/server.md
// between its markers.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { control, readmeExample, startSandbox } from '../tests/e2e/helpers.mjs';
import { relay, root, sleep, startPostgres, startRelay } from '../tests/relay/relay.mjs';

const ROWS = Number(process.env.BENCH_RELAY_ROWS || 10_000);
const LATENCY_ROWS = Number(process.env.BENCH_RELAY_LATENCY_ROWS || 200);
// The application's INSERT as docs/server.md gives it.
const INSERT = readmeExample('insert-postgres');

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** The two databases, behind one shape: write rows, count sent, read created_at. */
async function postgresOutbox(pg, name) {
  const admin = pg.client();
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = pg.url.replace(/\/postgres$/, `/${name}`);
  const migrated = await relay(url, ['migrate']);
  if (migrated.code !== 0) throw new Error(migrated.stderr);
  const pool = new (await import('pg')).default.Pool({ connectionString: url, max: 4 });
  return {
    url,
    async bulk(prefix, n) {
      for (let i = 0; i < n; i += 500) {
        const client = await pool.connect();
        await client.query('BEGIN');
        for (let j = i; j < Math.min(n, i + 500); j++) await client.query(INSERT, ['pk-bench', 'svc-bench', `${prefix}-${j}`, null]);
        await client.query('COMMIT');
        client.release();
      }
    },
    async one(customer) {
      await pool.query(INSERT, ['pk-bench', 'svc-bench', customer, null]);
    },
    async sent() {
      return Number((await pool.query("SELECT count(*) FROM onramp_outbox WHERE state = 'sent'")).rows[0].count);
    },
    async created() {
      const { rows } = await pool.query('SELECT customer_id, (extract(epoch FROM created_at) * 1000)::bigint AS at FROM onramp_outbox');
      return new Map(rows.map((r) => [r.customer_id, Number(r.at)]));
    },
    close: () => pool.end(),
  };
}

async function sqliteOutbox(dir) {
  const file = join(dir, 'outbox.db');
  const url = `sqlite:${file}`;
  const migrated = await relay(url, ['migrate']);
  if (migrated.code !== 0) throw new Error(migrated.stderr);
  const quote = (s) => `'${s.replaceAll("'", "''")}'`;
  const insert = (c) => `INSERT INTO onramp_outbox (partner_key, service_name, customer_id) VALUES ('pk-bench', 'svc-bench', ${quote(c)}) ON CONFLICT DO NOTHING;\n`;
  const query = (sql) => execFileSync('sqlite3', [file, sql], { encoding: 'utf8' });
  return {
    url,
    async bulk(prefix, n) {
      let script = '';
      for (let i = 0; i < n; i += 500) {
        script += 'BEGIN;\n';
        for (let j = i; j < Math.min(n, i + 500); j++) script += insert(`${prefix}-${j}`);
        script += 'COMMIT;\n';
      }
      execFileSync('sqlite3', [file], { input: script });
    },
    async one(customer) {
      // One sqlite3 run a row: its own connection, its own commit.
      await new Promise((resolve, reject) => {
        const child = spawn('sqlite3', [file, insert(customer)], { stdio: 'ignore' });
        child.once('error', reject);
        child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`sqlite3 exited with ${code}`))));
      });
    },
    async sent() {
      return Number(query("SELECT count(*) FROM onramp_outbox WHERE state = 'sent'").trim());
    },
    async created() {
      const rows = query('SELECT customer_id, created_at FROM onramp_outbox').trim().split('\n');
      return new Map(rows.map((line) => line.split('|')).map(([c, at]) => [c, Number(at)]));
    },
    close: async () => {},
  };
}

async function measure(label, outbox, sandbox, relays) {
  await control(sandbox.origin, '/_sandbox/reset');
  await outbox.bulk('t', ROWS);
  const started = performance.now();
  const running = Array.from({ length: relays }, () => startRelay(outbox.url, sandbox.origin));
  while ((await outbox.sent()) < ROWS) {
    if (performance.now() - started > 600_000) throw new Error(`${label}: not all sent in 10 minutes`);
    await sleep(20);
  }
  const seconds = (performance.now() - started) / 1000;

  // Idle relays, then one commit at a time.
  await sleep(500);
  for (let i = 0; i < LATENCY_ROWS; i++) {
    await outbox.one(`l-${i}`);
    await sleep(25);
  }
  while ((await outbox.sent()) < ROWS + LATENCY_ROWS) await sleep(50);
  for (const r of running) {
    const exit = await r.stop();
    if (exit.code !== 0) throw new Error(`${label}: a relay exited with ${exit.code}: ${r.log.slice(-2000)}`);
  }
  const created = await outbox.created();
  const trackings = await (await fetch(sandbox.origin + '/api/SaasTrackings')).json();
  const latencies = trackings
    .filter((t) => t.customerId.startsWith('l-'))
    .map((t) => Date.parse(t.receivedAt) - created.get(t.customerId))
    .sort((a, b) => a - b);
  const stored = trackings.length;
  if (stored !== ROWS + LATENCY_ROWS) throw new Error(`${label}: ${stored} stored of ${ROWS + LATENCY_ROWS}`);
  const row = {
    label,
    relays,
    rows: ROWS,
    perSecond: Math.round(ROWS / seconds),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    repeats: trackings.reduce((n, t) => n + t.deliveries - 1, 0),
  };
  console.log(row);
  return row;
}

const dir = mkdtempSync(join(tmpdir(), 'onramp-bench-relay-'));
const sandbox = await startSandbox({ statics: [], stderr: 'ignore' });
const pg = await startPostgres();
const rows = [];
try {
  for (const [label, relays, open] of [
    ['Postgres, 1 relay', 1, () => postgresOutbox(pg, 'bench_one')],
    ['Postgres, 4 relays', 4, () => postgresOutbox(pg, 'bench_four')],
    ['SQLite, 1 relay', 1, () => sqliteOutbox(dir)],
  ]) {
    const outbox = await open();
    try {
      rows.push(await measure(label, outbox, sandbox, relays));
    } finally {
      await outbox.close();
    }
  }
} finally {
  sandbox.child.kill();
  pg.stop();
  rmSync(dir, { recursive: true, force: true });
}

const date = new Date().toISOString().slice(0, 10);
const lines = [
  `Measured on ${date}, on this machine (2 cores), relays, Postgres and the sandbox side by side: ${ROWS.toLocaleString('en')} rows committed before the relays start, then ${LATENCY_ROWS} committed one at a time, 25 ms apart.`,
  '',
  '| outbox | rows/s delivered | commit → request p50 | p95 | sent twice |',
  '|---|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.label} | ${r.perSecond.toLocaleString('en')} | ${r.p50} ms | ${r.p95} ms | ${r.repeats} |`),
];
console.log(lines.join('\n'));
mkdirSync(join(root, 'bench'), { recursive: true });
writeFileSync(join(root, 'bench/relay.json'), JSON.stringify({ date, rows: ROWS, latencyRows: LATENCY_ROWS, results: rows }, null, 2) + '\n');
const page = join(root, 'docs/server.md');
const text = readFileSync(page, 'utf8');
const [open, close] = ['<!-- bench:relay: written by npm run bench:relay -->\n', '<!-- /bench:relay -->'];
const start = text.indexOf(open) + open.length;
const end = text.indexOf(close);
if (start < open.length || end < start) throw new Error('docs/server.md has no bench:relay markers');
writeFileSync(page, text.slice(0, start) + lines.join('\n') + '\n' + text.slice(end));
