// The sandbox collector over real HTTP: the OnRamp API, validation with the
// pixel's own rules, deduplication, CORS, persistence and static files.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { control, startSandbox, uniqueId } from './helpers.mjs';

let sandbox;
before(async () => {
  sandbox = await startSandbox();
});
after(() => sandbox?.stop());

const post = (origin, body, headers = { 'content-type': 'application/json' }) =>
  fetch(origin + '/api/SaasTrackings', { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

const tracking = (customerId) => ({ partnerKey: 'pk_sb', serviceName: 'svc', customerId, purchasedAt: '2026-11-26T19:43:01.5+01:00' });

test('201 with the stored record, then 200 and one more delivery for a repeat', async () => {
  const id = uniqueId('sb');
  const first = await post(sandbox.origin, tracking(id));
  assert.equal(first.status, 201);
  const stored = await first.json();
  assert.equal(stored.customerId, id);
  assert.equal(stored.purchasedAt, '2026-11-26T18:43:01.500Z');
  assert.equal(stored.deliveries, 1);
  assert.match(stored.receivedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  const second = await post(sandbox.origin, tracking(id));
  assert.equal(second.status, 200);
  assert.equal((await second.json()).deliveries, 2);
  const listed = (await sandbox.trackings()).filter((t) => t.customerId === id);
  assert.equal(listed.length, 1);
  assert.equal(listed[0].deliveries, 2);
  const one = await fetch(`${sandbox.origin}/api/SaasTrackings/${stored.id}`);
  assert.equal((await one.json()).customerId, id);
});

test('a text/plain body (a beacon) is parsed as JSON', async () => {
  const id = uniqueId('sb-text');
  const response = await post(sandbox.origin, tracking(id), { 'content-type': 'text/plain;charset=UTF-8' });
  assert.equal(response.status, 201);
});

test('invalid trackings: 422 with the code and field, nothing stored', async () => {
  const before = (await sandbox.trackings()).length;
  const cases = [
    [{ ...tracking('c'), customerId: '' }, 'empty_field', 'customerId'],
    [{ ...tracking('c'), customerId: 5 }, 'invalid_type', 'customerId'],
    [{ ...tracking('c'), purchasedAt: '2026-13-45' }, 'invalid_date', 'purchasedAt'],
    [{ ...tracking('c'), purchasedAt: '1999-01-01' }, 'date_out_of_range', 'purchasedAt'],
    [{ partnerKey: 'pk', serviceName: 's', customerId: 'c' }, 'missing_field', 'purchasedAt'],
    [{ ...tracking('c'), extra: true }, 'unknown_option', 'extra'],
  ];
  for (const [body, code, field] of cases) {
    const response = await post(sandbox.origin, body);
    assert.equal(response.status, 422, JSON.stringify(body));
    const { error } = await response.json();
    assert.equal(error.code, code);
    assert.equal(error.field, field);
    assert.ok(error.message.length > 0);
  }
  const broken = await post(sandbox.origin, '{"partnerKey":');
  assert.equal(broken.status, 400);
  assert.equal((await broken.json()).error.code, 'invalid_json');
  assert.equal((await sandbox.trackings()).length, before);
});

test('CORS: any origin may POST a tracking (preflight included) and read its answer, without credentials; reading the list is for the sandbox\'s own origins', async () => {
  const preflight = await fetch(sandbox.origin + '/api/SaasTrackings', {
    method: 'OPTIONS',
    headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(preflight.status, 200);
  assert.equal(preflight.headers.get('access-control-allow-origin'), 'https://shop.example');
  assert.equal(preflight.headers.get('access-control-allow-credentials'), null);
  assert.match(preflight.headers.get('access-control-allow-methods'), /POST/);
  assert.match(preflight.headers.get('access-control-allow-headers'), /^content-type$/i);
  const response = await post(sandbox.origin, tracking(uniqueId('sb-cors')), { 'content-type': 'application/json', origin: 'https://shop.example' });
  assert.equal(response.headers.get('access-control-allow-origin'), 'https://shop.example');
  assert.match(response.headers.get('access-control-expose-headers'), /^retry-after$/i);
  assert.equal(response.headers.get('access-control-allow-credentials'), null);
  // The stored trackings: readable by the demo page (the sandbox's own
  // origin under another name), not by another site.
  const port = new URL(sandbox.origin).port;
  const own = await fetch(sandbox.origin + '/api/SaasTrackings', { headers: { origin: `http://localhost:${port}` } });
  assert.equal(own.headers.get('access-control-allow-origin'), `http://localhost:${port}`);
  const foreign = await fetch(sandbox.origin + '/api/SaasTrackings', { headers: { origin: 'https://shop.example' } });
  assert.equal(foreign.headers.get('access-control-allow-origin'), null);
  // The pixel's files, for any page (Subresource Integrity needs CORS).
  const loader = await fetch(sandbox.origin + '/loader.js', { headers: { origin: 'https://shop.example' } });
  assert.equal(loader.headers.get('access-control-allow-origin'), '*');
});

test('data survives a restart with a database file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'onramp-sandbox-'));
  try {
    const db = join(dir, 'trackings.db');
    const id = uniqueId('sb-persist');
    const first = await startSandbox({ db });
    assert.equal((await post(first.origin, tracking(id))).status, 201);
    await first.stop();
    const second = await startSandbox({ db });
    const stored = await second.find(id);
    assert.equal((await post(second.origin, tracking(id))).status, 200);
    await second.stop();
    assert.equal(stored.length, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('static files: the wasm as application/wasm, no way out of the folder', async () => {
  const wasm = await fetch(sandbox.origin + '/onramp_pixel_bg.wasm');
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  const loader = await fetch(sandbox.origin + '/loader.js', { headers: { origin: 'https://shop.example' } });
  assert.match(loader.headers.get('content-type'), /^text\/javascript/);
  assert.equal(loader.headers.get('access-control-allow-origin'), '*');
  // A raw request line (fetch would normalise the dots away).
  const escape = await new Promise((resolve, reject) =>
    http.get(sandbox.origin + '/x', { path: '/../Cargo.toml' }, (res) => resolve(res.statusCode)).on('error', reject),
  );
  assert.equal(escape, 404);
});

test('faults: statuses with Retry-After, in order, then normal service; attempts are logged', async () => {
  const id = uniqueId('sb-fault');
  const set = await control(sandbox.origin, '/_sandbox/faults', [
    { status: 503, times: 2, retryAfter: 1 },
    { status: 429, retryAfter: 'Thu, 26 Nov 2026 18:43:31 GMT' },
  ]);
  assert.equal(set.status, 200);
  const answers = [];
  for (let i = 0; i < 4; i++) {
    const r = await post(sandbox.origin, tracking(id), { 'content-type': 'application/json', origin: 'https://shop.example' });
    answers.push([r.status, r.headers.get('retry-after')]);
  }
  assert.deepEqual(answers, [
    [503, '1'],
    [503, '1'],
    [429, 'Thu, 26 Nov 2026 18:43:31 GMT'],
    [201, null],
  ]);
  const attempts = (await (await fetch(sandbox.origin + '/_sandbox/attempts')).json()).filter((a) => a.customerId === id);
  assert.deepEqual(attempts.map((a) => a.status), [503, 503, 429, 201]);
  assert.deepEqual(await (await fetch(sandbox.origin + '/_sandbox/faults')).json(), []);
});

test('faults: drop closes the connection unanswered, delay holds the answer; nothing stored', async () => {
  const id = uniqueId('sb-drop');
  await control(sandbox.origin, '/_sandbox/faults', [{ drop: true }, { delayMs: 5000, status: 503 }]);
  await assert.rejects(post(sandbox.origin, tracking(id)), TypeError);
  const held = fetch(sandbox.origin + '/api/SaasTrackings', {
    method: 'POST',
    body: JSON.stringify(tracking(id)),
    signal: AbortSignal.timeout(200),
  });
  await assert.rejects(held, (e) => e.name === 'TimeoutError');
  assert.deepEqual(await sandbox.find(id), []);
  const bad = await control(sandbox.origin, '/_sandbox/faults', [{ sattus: 503 }]);
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, 'invalid_fault');
});

test('rejected submissions are listed with their reasons; reset forgets everything', async () => {
  const scratch = await startSandbox();
  try {
    await post(scratch.origin, { ...tracking('c'), customerId: '' });
    await post(scratch.origin, 'not json');
    await post(scratch.origin, tracking('kept'));
    const rejected = await (await fetch(scratch.origin + '/_sandbox/rejected')).json();
    assert.deepEqual(
      rejected.map((r) => [r.status, r.error.code, r.error.field]),
      [
        [422, 'empty_field', 'customerId'],
        [400, 'invalid_json', null],
      ],
    );
    assert.equal(rejected[1].body, 'not json');
    await control(scratch.origin, '/_sandbox/faults', { status: 500 });
    const reset = await control(scratch.origin, '/_sandbox/reset');
    assert.equal(reset.status, 204);
    assert.deepEqual(await scratch.trackings(), []);
    assert.deepEqual(await (await fetch(scratch.origin + '/_sandbox/rejected')).json(), []);
    assert.deepEqual(await (await fetch(scratch.origin + '/_sandbox/faults')).json(), []);
  } finally {
    await scratch.stop();
  }
});
