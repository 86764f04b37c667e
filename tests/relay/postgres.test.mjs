// onramp-relay over Postgres: four relay processes over one throwaway
// cluster, 10,000 rows written by concurrent application transactions
// (some rolled back) with docs/server.md's insert-postgres block, the
// sandbox answering faults; one relay killed with SIGKILL mid-run, Postgres
// restarted mid-run. Every committed row delivered, rolled-back rows never,
// repeats within the documented bound.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { control, readmeExample, startSandbox } from '../e2e/helpers.mjs';
import { checkDelivered, relay, startPostgres, startRelay, status, until } from './relay.mjs';

let sandbox;
let postgres;
const relays = [];
let pool;

before(async () => {
  sandbox = await startSandbox({ statics: [], stderr: 'ignore' });
  postgres = await startPostgres();
});
after(async () => {
  await pool?.end().catch(() => {});
  for (const r of relays) r.child.kill('SIGKILL');
  sandbox?.child.kill();
  postgres?.stop();
});

test('two migrations at once apply the table once; a relay without Postgres exits with a clear line', async () => {
  const runs = await Promise.all([relay(postgres.url, ['migrate']), relay(postgres.url, ['migrate'])]);
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(runs.map((r) => r.stdout.trim()).sort(), [
    'applied version [1] of the outbox',
    'the outbox is up to date (version 1)',
  ]);
  const nowhere = await relay(`postgres://postgres@127.0.0.1:1/postgres`, ['run'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /^onramp-relay: cannot connect to Postgres: .*refused/m);
});

test('4 relays, 10,000 rows from concurrent transactions, faults, a SIGKILL and a Postgres restart: each committed row delivered, rolled-back ones never', async () => {
  assert.equal((await control(sandbox.origin, '/_sandbox/reset')).status, 204);
  const insert = readmeExample('insert-postgres');
  await sandbox.faults([
    { status: 503, times: 60 },
    { status: 429, retryAfter: 1, times: 20 },
    { drop: true, times: 3 },
    { delayMs: 3000, status: 503, times: 2 },
    { status: 502, times: 40 },
  ]);

  const inFlight = 100;
  const args = ['--timeout-ms', '2000', '--batch', '50', '--in-flight', String(inFlight)];
  for (let i = 0; i < 4; i++) relays.push(startRelay(postgres.url, sandbox.origin, args));

  // The application: 8 connections, each running transactions of 1 to 5
  // signups (an account row and its outbox row), one in ten rolled back.
  // A transaction cut by the restart is the application's failure: it
  // connects again and goes on. What was committed is read back from the
  // accounts table at the end (a COMMIT cut off has no answer).
  pool = postgres.pool(8);
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  await pool.query('CREATE TABLE accounts (id bigserial PRIMARY KEY, customer text NOT NULL)');
  const target = 10_000;
  let written = 0;
  let next = 0;
  const tried = [];
  const worker = async (w) => {
    for (let t = 0; written < target; t++) {
      const size = 1 + ((w + t) % 5);
      const customers = Array.from({ length: size }, () => `pg-${next++}`);
      tried.push(...customers);
      const rollback = (w * 7 + t) % 10 === 3;
      let client;
      try {
        client = await pool.connect();
        await client.query('BEGIN');
        for (const c of customers) {
          await client.query('INSERT INTO accounts (customer) VALUES ($1)', [c]);
          await client.query(insert, ['pk-relay', 'svc-relay', c, null]);
        }
        await client.query(rollback ? 'ROLLBACK' : 'COMMIT');
        if (!rollback) written += size;
        client.release();
      } catch {
        client?.release(true);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const writing = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));

  const stored = async () => (await sandbox.trackings()).length;
  assert.ok(await until(async () => (await stored()) >= 2500, 90_000), 'delivering');
  const killed = await relays[0].kill();
  // (the replacement, below, is stopped with the others at the end)
  assert.equal(killed.signal, 'SIGKILL');
  relays.push(startRelay(postgres.url, sandbox.origin, args));
  // The hangs past the timeout again, now that no relay is killed before
  // its timeout can fire (the first ones may have gone to the one killed).
  await sandbox.faults([{ status: 503, times: 30 }, { delayMs: 3000, status: 503, times: 2 }]);

  assert.ok(await until(async () => (await stored()) >= 5000, 90_000), 'delivering after the SIGKILL');
  postgres.restart();
  await writing;
  const accounts = await until(async () => {
    try {
      return (await pool.query('SELECT customer FROM accounts')).rows.map((r) => r.customer);
    } catch {
      return null;
    }
  }, 10_000);
  await pool.end();
  pool = undefined;
  const committed = accounts;
  const kept = new Set(committed);
  const rolledBack = tried.filter((c) => !kept.has(c));
  assert.ok(committed.length >= target, `${committed.length} committed`);
  assert.ok(rolledBack.length > 500, `${rolledBack.length} rolled back`);

  const done = await until(async () => (await status(postgres.url)).sent === committed.length, 120_000, 500);
  assert.ok(done, `all sent: ${JSON.stringify(await status(postgres.url))}`);
  for (const r of relays.slice(1)) {
    const exit = await r.stop();
    r.stopped = true;
    assert.equal(exit.code, 0, r.log.slice(-2000));
  }
  const logs = relays.map((r) => r.log).join('');
  assert.match(logs, /tracking queued \(HTTP 503\), retry at /);
  assert.match(logs, /tracking queued \(HTTP 429\), retry at /);
  assert.match(logs, /tracking queued \(timeout\), retry at /);
  assert.match(logs, /the Postgres (connection|listener)/, 'the restart was seen');
  const final = await status(postgres.url);
  assert.deepEqual({ ...final, oldestWaiting: null }, {
    waiting: 0,
    oldestWaiting: null,
    sent: committed.length,
    rejected: 0,
    rejectedBy: [],
    givenUp: 0,
  });
  // Only the killed relay's rows in flight may go twice.
  const repeats = checkDelivered(await sandbox.trackings(), committed, { bound: inFlight, never: rolledBack });
  console.log(`${committed.length} rows: ${rolledBack.length} rolled back, ${repeats} repeat deliveries after the SIGKILL (bound ${inFlight})`);
});

test("TLS to Postgres by the URL's sslmode: require checks the certificate (ONRAMP_DATABASE_CA), prefer encrypts without, disable does not", async () => {
  const secure = await startPostgres({ ssl: true });
  try {
    const url = (mode) => `${secure.url}?sslmode=${mode}`;
    const checked = { ONRAMP_DATABASE_CA: secure.ca };
    const migrated = await relay(url('require'), ['migrate'], checked);
    assert.equal(migrated.code, 0, migrated.stderr);
    // Without the CA, require refuses the certificate: one clear line, exit 1.
    const refused = await relay(url('require'), ['status']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^onramp-relay: cannot connect to Postgres: .*(certificate|UnknownIssuer)/im);
    assert.equal((await relay(url('require'), ['enqueue', 'pk', 'svc', 'tls-1'], checked)).code, 0);
    assert.equal((await relay(url('verify-full'), ['status'], checked)).code, 0, "libpq's verify-full reads as require");

    // Which connections of the relay's were encrypted, as Postgres saw them.
    const client = secure.client();
    await client.connect();
    const encrypted = async (mode) => {
      const running = startRelay(url(mode), sandbox.origin, ['--timeout-ms', '2000']);
      const seen = await until(async () => {
        const { rows } = await client.query(
          "SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'onramp-relay'",
        );
        return rows.length ? rows.map((r) => r.ssl) : null;
      }, 10_000, 100);
      assert.equal((await running.stop()).code, 0, running.log);
      return seen;
    };
    assert.deepEqual([...new Set(await encrypted('prefer'))], [true], 'prefer: encrypted');
    assert.deepEqual([...new Set(await encrypted('disable'))], [false], 'disable: in the clear');
    await client.end();
    const drained = await relay(url('require'), ['run', '--until-idle'], { ...checked, ONRAMP_BASE_URL: sandbox.origin });
    assert.equal(drained.code, 0, drained.stderr);
    assert.equal((await status(url('prefer'))).sent, 1, 'the row went');
  } finally {
    secure.stop();
  }
});
