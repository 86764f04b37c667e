// The project's bad-input matrix (tests/e2e/matrix.mjs), as far as a text
// column holds it, written as outbox rows in SQLite and in Postgres: each
// row rejected with the core's code and field, never sent, and shown by
// `onramp-relay status`; a row the collector refuses (422) too. And
// `onramp-relay enqueue` refuses the same inputs with exit 1.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { control, startSandbox } from '../e2e/helpers.mjs';
import { relay, startPostgres, status } from './relay.mjs';

const inTwoDays = new Date(Date.now() + 2 * 86_400_000).toISOString();
// [label, partnerKey, serviceName, customerId, purchasedAt, code, field]
const cases = [
  ['no partner key', null, 'svc', 'c', null, 'missing_field', 'partnerKey'],
  ['no service name', 'pk', null, 'c', null, 'missing_field', 'serviceName'],
  ['no customer id', 'pk', 'svc', null, null, 'missing_field', 'customerId'],
  ['empty string', 'pk', 'svc', '', null, 'empty_field', 'customerId'],
  ['whitespace only', 'pk', '   ', 'c', null, 'empty_field', 'serviceName'],
  ['1 MB string', 'pk', 'svc', 'x'.repeat(1 << 20), null, 'too_long', 'customerId'],
  ['513 characters', 'pk', 'svc', 'é'.repeat(513), null, 'too_long', 'customerId'],
  ['newline', 'pk', 'a\nb', 'c', null, 'invalid_characters', 'serviceName'],
  ['C1 control', 'pk', 'svc', 'a\u0085b', null, 'invalid_characters', 'customerId'],
  ['tab in the partner key', 'p\tk', 'svc', 'c', null, 'invalid_characters', 'partnerKey'],
  ['date 2026-13-45', 'pk', 'svc', 'c', '2026-13-45', 'invalid_date', 'purchasedAt'],
  ['date "not a date"', 'pk', 'svc', 'c', 'not a date', 'invalid_date', 'purchasedAt'],
  ['date without a zone', 'pk', 'svc', 'c', '2026-11-26T10:00:00', 'invalid_date', 'purchasedAt'],
  ['before 2000', 'pk', 'svc', 'c', '1999-12-31', 'date_out_of_range', 'purchasedAt'],
  ['two days ahead', 'pk', 'svc', 'c', inTwoDays, 'date_out_of_range', 'purchasedAt'],
];
// SQLite's text holds NUL; Postgres's refuses it at the INSERT.
const nul = ['NUL', 'pk', 'svc', 'a\u0000b', null, 'invalid_characters', 'customerId'];

const dir = mkdtempSync(join(tmpdir(), 'onramp-relay-bad-'));
let sandbox;
let postgres;
before(async () => {
  sandbox = await startSandbox({ statics: [], stderr: 'ignore' });
  postgres = await startPostgres();
});
after(() => {
  sandbox?.child.kill();
  postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Each case gets a customer id of its own (the table keeps one row per customer). */
const rows = (list) =>
  list.map(([label, pk, svc, c, at], i) => [label, pk, svc, c === 'c' ? `bad-${i}` : c, at]);

/** What status should show: each (code, field) counted, and the collector's 422. */
function expected(list) {
  const by = new Map([['rejected HTTP 422', 1]]);
  for (const [, , , , , code, field] of list) by.set(`${code} ${field}`, (by.get(`${code} ${field}`) ?? 0) + 1);
  return [...by.entries()].sort();
}

async function check(url, list) {
  assert.equal((await control(sandbox.origin, '/_sandbox/reset')).status, 204);
  // The good row first, refused by the collector; then a good one it takes.
  await sandbox.faults([{ status: 422 }]);
  const run = await relay(url, ['run', '--until-idle', '--batch', '100'], { ONRAMP_BASE_URL: sandbox.origin });
  assert.equal(run.code, 0, run.stderr);
  for (const [, , , , , code, field] of list) {
    assert.ok(run.stderr.includes(`tracking refused: ${code} (${field}): `), `logged: ${code} (${field})`);
  }
  assert.match(run.stderr, /tracking rejected \(HTTP 422\)/);
  const shown = await status(url);
  assert.equal(shown.waiting, 0);
  assert.equal(shown.sent, 1);
  assert.equal(shown.rejected, list.length + 1);
  const by = shown.rejectedBy.map((r) => [[r.code, r.field, r.status && `HTTP ${r.status}`].filter(Boolean).join(' '), r.count]);
  assert.deepEqual(by.sort(), expected(list));
  // Nothing refused by the core reached the collector: two attempts, the good rows'.
  const attempts = await sandbox.attempts();
  assert.deepEqual(attempts.map((a) => a.customerId).sort(), ['good-1', 'good-2']);
  const text = await relay(url, ['status']);
  assert.match(text.stdout, /^rejected +\d+$/m);
  assert.match(text.stdout, /^ {2}missing_field \(customerId\): 1$/m);
  assert.match(text.stdout, /^ {2}rejected, HTTP 422: 1$/m);
}

test('SQLite: each bad row rejected with its code and field, never sent, shown by status', async () => {
  const file = join(dir, 'bad.db');
  const url = `sqlite:${file}`;
  assert.equal((await relay(url, ['migrate'])).code, 0);
  const list = [...cases, nul];
  // sqlite3 cannot bind a NUL from its shell: the rows go in as hex-decoded blobs cast to text.
  const hex = (v) => (v === null ? 'NULL' : `CAST(X'${Buffer.from(v, 'utf8').toString('hex')}' AS TEXT)`);
  const values = [['good', 'pk', 'svc', 'good-1', null], ['good', 'pk', 'svc', 'good-2', null], ...rows(list)]
    .map(([, ...fields]) => `(${fields.map(hex).join(', ')})`)
    .join(',\n');
  execFileSync('sqlite3', ['-bail', file], {
    input: `INSERT INTO onramp_outbox (partner_key, service_name, customer_id, purchased_at) VALUES\n${values};\n`,
  });
  await check(url, list);
});

test('Postgres: each bad row rejected with its code and field, never sent, shown by status', async () => {
  assert.equal((await relay(postgres.url, ['migrate'])).code, 0);
  const client = postgres.client();
  await client.connect();
  try {
    for (const [, ...fields] of [['good', 'pk', 'svc', 'good-1', null], ['good', 'pk', 'svc', 'good-2', null], ...rows(cases)]) {
      await client.query(
        'INSERT INTO onramp_outbox (partner_key, service_name, customer_id, purchased_at) VALUES ($1, $2, $3, $4)',
        fields,
      );
    }
  } finally {
    await client.end();
  }
  await check(postgres.url, cases);
});

test('enqueue refuses what the pixel refuses, with exit 1 and the code, field and message', async () => {
  const url = `sqlite:${join(dir, 'enqueue.db')}`;
  assert.equal((await relay(url, ['migrate'])).code, 0);
  for (const [label, pk, svc, c, at, code, field] of cases) {
    // The command line has no NULL, and no argument of 1 MB (Linux caps one at 128 KiB).
    if (pk === null || svc === null || c === null || c.length > 100_000) continue;
    const args = ['enqueue', pk, svc, c === 'c' ? 'cust' : c, ...(at ? [at] : [])];
    const out = await relay(url, args);
    assert.equal(out.code, 1, label);
    assert.match(out.stderr, new RegExp(`^onramp-relay: ${code} \\(${field}\\): `, 'm'), label);
  }
  const ok = await relay(url, ['enqueue', 'pk', 'svc', 'cust', '2026-11-26']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^enqueued row \d+$/m);
  const again = await relay(url, ['enqueue', 'pk', 'svc', 'cust']);
  assert.match(again.stdout, /already in the outbox/);
  assert.equal((await status(url)).waiting, 1);
});
