// The test kit's collector (onramp-pixel/testing, as dist/ ships it) against
// the sandbox: one table of requests (the OnRamp API, then the control API
// under /_sandbox/) sent in order to both, and every answer compared:
// status, body without the volatile fields (ids, times, messages), the CORS
// headers a page reads. Where they differ, a provider's tests would pass
// against one and fail against the other. Then the kit's Node API over
// the same state.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCollector } from '../../dist/testing/index.js';
import { control, docText, startSandbox } from './helpers.mjs';

let sandbox;
let kit;

before(async () => {
  sandbox = await startSandbox();
  kit = await startCollector();
});

after(async () => {
  await kit?.close();
  await sandbox?.stop();
});

const ORIGIN = 'http://shop.provider.example';
const JSON_TYPE = { 'content-type': 'application/json' };
const body = (fields) => JSON.stringify({ partnerKey: 'pk', serviceName: 'svc', customerId: 'c-1', purchasedAt: '2026-11-26T18:43:01Z', ...fields });
const post = (what, payload, headers = { origin: ORIGIN }) => [what, 'POST', '/api/SaasTrackings', payload, headers];

/** [what, method, path, body, headers]; `{own}` in a header is the collector's own origin. */
const REQUESTS = [
  ['a reset (a local tool: no Origin)', 'POST', '/_sandbox/reset', '{}', JSON_TYPE],
  post('a new tracking', body(), { origin: ORIGIN, ...JSON_TYPE }),
  post('the same again', body(), { origin: ORIGIN, ...JSON_TYPE }),
  post('as a beacon (text/plain, no origin)', body({ customerId: 'c-2' }), { 'content-type': 'text/plain' }),
  post('a missing field', JSON.stringify({ partnerKey: 'pk' })),
  post('a wrong type', body({ customerId: 7 })),
  post('an unknown option', body({ extra: 1 })),
  post('a date out of range', body({ purchasedAt: '1999-12-31' })),
  post('an empty field', body({ serviceName: ' ' })),
  post('not JSON', '{"partnerKey":'),
  post('not an object', '["pk","svc","c","2026-11-26"]'),
  ['a preflight', 'OPTIONS', '/api/SaasTrackings', undefined, { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }],
  ['the list, from a tool', 'GET', '/api/SaasTrackings', undefined, {}],
  ['the list, from another origin (no CORS)', 'GET', '/api/SaasTrackings', undefined, { origin: ORIGIN }],
  ['the list, from its own origin', 'GET', '/api/SaasTrackings', undefined, { origin: '{own}' }],
  ['one tracking', 'GET', '/api/SaasTrackings/1', undefined, {}],
  ['no such tracking', 'GET', '/api/SaasTrackings/99', undefined, {}],
  ['faults queued', 'POST', '/_sandbox/faults', JSON.stringify([{ status: 503, retryAfter: 2, times: 2 }, { status: 429, retryAfter: 'Wed, 21 Oct 2026 07:28:00 GMT' }]), JSON_TYPE],
  ['a fault it cannot do', 'POST', '/_sandbox/faults', JSON.stringify([{ retryAfter: 1 }]), JSON_TYPE],
  ['a fault with an unknown option', 'POST', '/_sandbox/faults', JSON.stringify({ status: 503, sattus: 1 }), JSON_TYPE],
  ['the faults pending', 'GET', '/_sandbox/faults', undefined, {}],
  post('faulted once', body({ customerId: 'c-3' })),
  post('faulted twice', body({ customerId: 'c-3' })),
  post('faulted with a date', body({ customerId: 'c-3' })),
  post('taken', body({ customerId: 'c-3' })),
  ['the refused submissions', 'GET', '/_sandbox/rejected', undefined, {}],
  ['the attempts', 'GET', '/_sandbox/attempts', undefined, {}],
  ['a control POST from another origin', 'POST', '/_sandbox/reset', '{}', { origin: ORIGIN, ...JSON_TYPE }],
  ['a control GET, cross-site', 'GET', '/_sandbox/rejected', undefined, { 'sec-fetch-site': 'cross-site' }],
  ['a control POST from its own page', 'POST', '/_sandbox/faults', JSON.stringify({ delayMs: 50 }), { origin: '{own}', 'sec-fetch-site': 'same-origin', ...JSON_TYPE }],
  ['a control POST that is not JSON', 'POST', '/_sandbox/reset', '{}', { 'content-type': 'text/plain' }],
  post('delayed, then taken', body({ customerId: 'c-4' })),
  ['a reset', 'POST', '/_sandbox/reset', '{}', JSON_TYPE],
  ['the list, empty again', 'GET', '/api/SaasTrackings', undefined, {}],
  ['a method the API does not have', 'DELETE', '/api/SaasTrackings', undefined, {}],
];

const VOLATILE = new Set(['id', 'receivedAt', 'at', 'message']);
/** The answer's JSON without what differs by nature between two collectors. */
const stable = (value) =>
  Array.isArray(value)
    ? value.map(stable)
    : value && typeof value === 'object'
      ? Object.fromEntries(Object.entries(value).filter(([k]) => !VOLATILE.has(k)).map(([k, v]) => [k, stable(v)]))
      : value;

/** What a test can rely on in an answer. */
async function seen(base, [, method, path, payload, headers]) {
  const own = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, v.replace('{own}', base)]));
  const response = await fetch(base + path, { method, body: payload, headers: own });
  const text = await response.text();
  const header = (name) => response.headers.get(name)?.toLowerCase().split(/,\s*/).sort().join(',') ?? null;
  const allowOrigin = response.headers.get('access-control-allow-origin');
  return {
    status: response.status,
    json: text ? stable(JSON.parse(text)) : null,
    allowOrigin: allowOrigin === base ? '{own}' : allowOrigin,
    exposes: header('access-control-expose-headers'),
    retryAfter: response.headers.get('retry-after'),
    allowMethods: header('access-control-allow-methods'),
    allowHeaders: header('access-control-allow-headers'),
  };
}

test('the test kit answers every request of the table as the sandbox does', async () => {
  for (const request of REQUESTS) {
    const [ours, theirs] = [await seen(kit.baseUrl, request), await seen(sandbox.origin, request)];
    assert.deepEqual(ours, theirs, request[0]);
  }
});

test("docs/testing.md gives the table's size as it is", () => {
  assert.ok(docText('docs/testing.md').includes(`one table of ${REQUESTS.length} requests`));
});

test('a dropped connection: no answer from either, nothing stored, the attempt listed', async () => {
  kit.fault({ drop: true });
  await control(sandbox.origin, '/_sandbox/faults', { drop: true });
  for (const base of [kit.baseUrl, sandbox.origin]) {
    const sent = fetch(base + '/api/SaasTrackings', { method: 'POST', body: body({ customerId: 'c-5' }), signal: AbortSignal.timeout(5_000) });
    await assert.rejects(sent, (e) => e.name === 'TypeError', base);
    const attempts = await (await fetch(base + '/_sandbox/attempts')).json();
    assert.deepEqual(stable(attempts.at(-1)), { customerId: 'c-5', status: null, outcome: 'dropped', origin: null }, base);
    assert.deepEqual(await (await fetch(base + '/api/SaasTrackings')).json(), [], base);
  }
});

test("the kit's Node API reads what its HTTP API does, and refuses the faults the sandbox refuses", async () => {
  kit.reset();
  kit.fault([{ status: 503, retryAfter: 1 }]);
  assert.deepEqual(kit.faults(), [{ status: 503, retryAfter: '1', delayMs: 0, drop: false, times: 1 }]);
  assert.throws(() => kit.fault({ retryAfter: 1 }), /^TypeError: invalid_fault: a fault needs a status, a delayMs or drop$/);
  assert.throws(() => kit.fault({ status: 503, times: 0 }), /invalid_fault/);
  assert.throws(() => kit.fault(undefined), /invalid_fault/);
  assert.equal(kit.faults().length, 1, 'a refused fault queues nothing');
  const waiting = kit.waitForTracking({ customerId: 'c-6' }, { timeoutMs: 5_000 });
  for (const status of [503, 201, 200]) {
    const answer = await fetch(kit.baseUrl + '/api/SaasTrackings', { method: 'POST', body: body({ customerId: 'c-6' }), headers: { origin: ORIGIN } });
    assert.equal(answer.status, status);
  }
  await fetch(kit.baseUrl + '/api/SaasTrackings', { method: 'POST', body: body({ customerId: 8 }) });
  const found = await waiting;
  assert.equal(found.customerId, 'c-6');
  assert.equal(found.origin, ORIGIN);
  assert.deepEqual(kit.trackings({ customerId: 'c-6' }).map((t) => t.deliveries), [2]);
  assert.deepEqual(kit.trackings((t) => t.deliveries > 5), []);
  assert.deepEqual(
    kit.attempts().map((a) => [a.status, a.outcome]),
    [[503, 'fault'], [201, 'handled'], [200, 'handled'], [422, 'handled']],
  );
  assert.deepEqual(kit.rejected().map((r) => [r.status, r.error.code, r.error.field]), [[422, 'invalid_type', 'customerId']]);
  assert.deepEqual(await (await fetch(kit.baseUrl + '/_sandbox/rejected')).json(), kit.rejected());
  assert.deepEqual(await (await fetch(kit.baseUrl + '/api/SaasTrackings')).json(), kit.trackings());
  const copy = kit.trackings()[0];
  copy.deliveries = 99;
  assert.equal(kit.trackings()[0].deliveries, 2, 'what it returns is a copy');
  await assert.rejects(kit.waitForTracking({ customerId: 'never' }, { timeoutMs: 50 }), /no tracking matching \{"customerId":"never"\} in 50 ms/);
});

test('settled() waits for a request in progress to be answered, then for quiet', async () => {
  kit.reset();
  kit.fault({ delayMs: 300 });
  let answered = null;
  const sent = fetch(kit.baseUrl + '/api/SaasTrackings', { method: 'POST', body: body({ customerId: 'c-7' }) }).then((r) => (answered = r.status));
  // The fault is taken as the POST arrives: from then on it is in progress.
  while (kit.faults().length) await new Promise((resolve) => setTimeout(resolve, 5));
  await kit.settled({ quietMs: 50 });
  assert.equal(kit.trackings({ customerId: 'c-7' }).length, 1, 'settled after the tracking was taken');
  await sent;
  assert.equal(answered, 201);
});
