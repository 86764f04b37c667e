// onramp-relay over a SQLite outbox, against the real sandbox: 1,000 rows
// written by the docs' INSERT in application transactions (one rolled
// back), the collector failing (503 bursts, Retry-After, a hang, a hang-up), the relay
// killed mid-run and started again; a graceful restart; Retry-After and a
// hang, each on its own.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { control, readmeExample, startSandbox } from '../e2e/helpers.mjs';
import { checkDelivered, relay, startRelay, status, until } from './relay.mjs';

const dir = mkdtempSync(join(tmpdir(), 'onramp-relay-sqlite-'));
let sandbox;
let n = 0;

before(async () => {
  sandbox = await startSandbox({ statics: [], stderr: 'ignore' });
});
after(() => {
  sandbox?.child.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function reset() {
  assert.equal((await control(sandbox.origin, '/_sandbox/reset')).status, 204);
}

/** A fresh outbox file, migrated. */
async function outbox() {
  const file = join(dir, `outbox-${++n}.db`);
  const url = `sqlite:${file}`;
  const migrated = await relay(url, ['migrate']);
  assert.equal(migrated.code, 0, migrated.stderr);
  return { file, url };
}

const quote = (s) => (s === null ? 'NULL' : `'${s.replaceAll("'", "''")}'`);

/**
 * Application transactions through sqlite3, each writing its rows with
 * docs/server.md's insert-sqlite block; `transactions` is a list of
 * [customerIds, commit?].
 */
function write(file, transactions) {
  const insert = readmeExample('insert-sqlite');
  let script = '';
  for (const [customers, commit] of transactions) {
    script += 'BEGIN;\n';
    for (const c of customers) {
      const fields = ['pk-relay', 'svc-relay', c, null];
      fields.forEach((v, i) => (script += `.parameter set $${i + 1} ${quote(v)}\n`));
      script += `${insert};\n`;
    }
    script += commit ? 'COMMIT;\n' : 'ROLLBACK;\n';
  }
  execFileSync('sqlite3', ['-bail', file], { input: script });
}

const ids = (prefix, count) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

test('1,000 rows through collector faults and a relay killed mid-run: all delivered, none twice beyond the bound', async () => {
  await reset();
  const { file, url } = await outbox();
  const committed = ids('sq', 1000);
  const rolledBack = ids('sq-rolled-back', 20);
  const transactions = [];
  for (let i = 0; i < 1000; i += 100) transactions.push([committed.slice(i, i + 100), true]);
  transactions.splice(3, 0, [rolledBack, false]);
  write(file, transactions);

  await sandbox.faults([
    { status: 503, times: 40 },
    { status: 429, retryAfter: 1, times: 10 },
    { drop: true, times: 2 },
    { status: 500, times: 20 },
  ]);
  const inFlight = 40;
  const args = ['--timeout-ms', '1500', '--batch', '20', '--in-flight', String(inFlight)];
  const first = startRelay(url, sandbox.origin, args);
  assert.ok(await until(async () => (await sandbox.trackings()).length >= 300, 60_000), 'the first relay delivers');
  const killed = await first.kill();
  assert.equal(killed.signal, 'SIGKILL');
  assert.match(first.log, /tracking queued \(HTTP 503\), retry at /);

  const second = startRelay(url, sandbox.origin, args);
  const done = await until(async () => (await status(url)).sent === 1000, 90_000);
  assert.ok(done, `all sent: ${JSON.stringify(await status(url))}`);
  assert.equal((await second.stop()).code, 0, second.log);
  assert.deepEqual(await status(url), {
    waiting: 0,
    oldestWaiting: null,
    sent: 1000,
    rejected: 0,
    rejectedBy: [],
    givenUp: 0,
  });
  const repeats = checkDelivered(await sandbox.trackings(), committed, { bound: inFlight, never: rolledBack });
  console.log(`repeat deliveries after the SIGKILL: ${repeats} (bound ${inFlight})`);
});

test('a relay stopped with SIGTERM and started again sends nothing twice', async () => {
  await reset();
  const { file, url } = await outbox();
  const committed = ids('term', 400);
  write(file, [[committed, true]]);
  // A slow collector, so that SIGTERM finds requests in flight.
  await sandbox.faults([{ delayMs: 300, status: 503, times: 30 }]);
  const first = startRelay(url, sandbox.origin, ['--batch', '10', '--in-flight', '30', '--timeout-ms', '2000']);
  assert.ok(await until(async () => (await sandbox.trackings()).length >= 50, 30_000));
  const stopped = await first.stop();
  assert.equal(stopped.code, 0, first.log);
  assert.match(first.log, /relay stopped/);
  const held = execFileSync('sqlite3', [file, "SELECT count(*) FROM onramp_outbox WHERE leased_by IS NOT NULL AND state = 'waiting'"], {
    encoding: 'utf8',
  });
  assert.equal(held.trim(), '0', 'a stopped relay holds no row');
  assert.ok((await status(url)).waiting > 0, 'stopped mid-run');

  const second = await relay(url, ['run', '--until-idle', '--timeout-ms', '2000'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(second.code, 0, second.stderr);
  checkDelivered(await sandbox.trackings(), committed, { bound: 0 });
});

test("the collector's Retry-After holds the next attempt back; a hung request times out and is retried", async () => {
  await reset();
  const { file, url } = await outbox();
  write(file, [[['retry-after'], true]]);
  await sandbox.faults([{ status: 503, retryAfter: 3 }]);
  const run = await relay(url, ['run', '--until-idle', '--timeout-ms', '1000'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(run.code, 0, run.stderr);
  const attempts = (await sandbox.attempts()).filter((a) => a.customerId === 'retry-after');
  assert.deepEqual(
    attempts.map((a) => a.status),
    [503, 201],
    'the fault, then the delivery',
  );
  const waited = Date.parse(attempts[1].at) - Date.parse(attempts[0].at);
  assert.ok(waited >= 3000, `the retry came ${waited} ms after Retry-After: 3`);

  // A collector that hangs past the timeout, then one that hangs up.
  write(file, [[['hang'], true]]);
  await sandbox.faults([{ delayMs: 2500, status: 503 }, { drop: true }]);
  const hung = await relay(url, ['run', '--until-idle', '--timeout-ms', '1000'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(hung.code, 0, hung.stderr);
  assert.match(hung.stderr, /tracking queued \(timeout\), retry at /);
  assert.match(hung.stderr, /tracking queued \(network_error\), retry at /);
  // The timed-out request is never logged: the sandbox drops its handler
  // when the relay gives up on it.
  const tries = (await sandbox.attempts()).filter((a) => a.customerId === 'hang');
  assert.deepEqual(
    tries.map((a) => a.outcome),
    ['dropped', 'handled'],
  );
  checkDelivered(await sandbox.trackings(), ['retry-after', 'hang']);
});

test('a row whose `sent` never committed (its relay died after the answer) is sent once more, and the OnRamp answers 200', async () => {
  await reset();
  const { file, url } = await outbox();
  write(file, [[['twice'], true]]);
  const env = { ONRAMP_BASE_URL: sandbox.origin };
  const first = await relay(url, ['run', '--until-idle'], env);
  assert.match(first.stderr, /tracking sent \(fetch, HTTP 201\)/);
  // The state a relay killed between the collector's answer and its own
  // commit leaves behind, once its lease ran out: the row still waits.
  execFileSync('sqlite3', [file, "UPDATE onramp_outbox SET state = 'waiting', leased_until = 0, leased_by = 'dead'"]);
  const second = await relay(url, ['run', '--until-idle'], env);
  assert.match(second.stderr, /tracking sent \(fetch, HTTP 200\)/);
  const [stored] = await sandbox.trackings();
  assert.equal(stored.deliveries, 2, 'the repeat is counted, the tracking stored once');
  assert.equal((await status(url)).sent, 1);
});

test('a row older than the TTL is given up, never sent, and shown by status; no database or no table: a clear line and exit 1', async () => {
  await reset();
  const { file, url } = await outbox();
  write(file, [[['stale', 'fresh'], true]]);
  execFileSync('sqlite3', [file, `UPDATE onramp_outbox SET created_at = created_at - ${8 * 86_400_000} WHERE customer_id = 'stale'`]);
  const run = await relay(url, ['run', '--until-idle'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /tracking given up: waited longer than 7 days/);
  const shown = await status(url);
  assert.deepEqual([shown.sent, shown.givenUp, shown.waiting], [1, 1, 0]);
  assert.deepEqual((await sandbox.attempts()).map((a) => a.customerId), ['fresh']);

  const nowhere = await relay(`sqlite:${join(dir, 'no-such-dir', 'x.db')}`, ['run'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /^onramp-relay: cannot open .*x\.db: /m);
  const unmigrated = await relay(`sqlite:${join(dir, 'empty.db')}`, ['run'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(unmigrated.code, 1);
  assert.match(unmigrated.stderr, /^onramp-relay: the outbox is at version 0, this relay needs 1: run `onramp-relay migrate`$/m);
  const noCollector = await relay(url, ['run'], { ONRAMP_BASE_URL: 'http://onramp.example.com' });
  assert.equal(noCollector.code, 1);
  assert.match(noCollector.stderr, /^onramp-relay: ONRAMP_BASE_URL: insecure_base_url: /m);
});
