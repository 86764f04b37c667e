// The test kit's collector (onramp-pixel/testing) against the sandbox: one
// table of requests sent to both, and every answer compared (status, body
// without the volatile fields, the CORS headers a page reads). Where they
// differ, a provider's tests would pass against one and fail against the
// other.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCollector } from '../../dist/testing/index.js';
import { control, startSandbox } from './helpers.mjs';

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
const body = (fields) => JSON.stringify({ partnerKey: 'pk', serviceName: 'svc', customerId: 'c-1', purchasedAt: '2026-11-26T18:43:01Z', ...fields });

/** [what, method, body, headers]. */
const REQUESTS = [
  ['a new tracking', 'POST', body(), { origin: ORIGIN, 'content-type': 'application/json' }],
  ['the same again', 'POST', body(), { origin: ORIGIN, 'content-type': 'application/json' }],
  ['as a beacon (text/plain, no origin)', 'POST', body({ customerId: 'c-2' }), { 'content-type': 'text/plain' }],
  ['a missing field', 'POST', JSON.stringify({ partnerKey: 'pk' }), { origin: ORIGIN }],
  ['a wrong type', 'POST', body({ customerId: 7 }), { origin: ORIGIN }],
  ['an unknown option', 'POST', body({ extra: 1 }), { origin: ORIGIN }],
  ['a date out of range', 'POST', body({ purchasedAt: '1999-12-31' }), { origin: ORIGIN }],
  ['an empty field', 'POST', body({ serviceName: ' ' }), { origin: ORIGIN }],
  ['not JSON', 'POST', '{"partnerKey":', { origin: ORIGIN }],
  ['not an object', 'POST', '["pk","svc","c","2026-11-26"]', { origin: ORIGIN }],
  ['a preflight', 'OPTIONS', undefined, { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }],
];

/** What a test can rely on in an answer. */
async function seen(base, [, method, payload, headers]) {
  const response = await fetch(base + '/api/SaasTrackings', { method, body: payload, headers });
  const text = await response.text();
  let json = text ? JSON.parse(text) : null;
  if (json && !json.error) json = { ...json, id: undefined, receivedAt: undefined };
  if (json?.error) json = { error: { code: json.error.code, field: json.error.field } };
  const header = (name) => response.headers.get(name)?.toLowerCase().split(/,\s*/).sort().join(',') ?? null;
  return {
    status: response.status,
    json,
    allowOrigin: header('access-control-allow-origin'),
    exposes: method === 'OPTIONS' ? null : header('access-control-expose-headers'),
    allowMethods: method === 'OPTIONS' ? header('access-control-allow-methods') : null,
    allowHeaders: method === 'OPTIONS' ? header('access-control-allow-headers') : null,
  };
}

test('the test kit answers every request as the sandbox does', async () => {
  for (const request of REQUESTS) {
    const [ours, theirs] = [await seen(kit.baseUrl, request), await seen(sandbox.origin, request)];
    assert.deepEqual(ours, theirs, request[0]);
  }
});

test('faults: a 503 with Retry-After, then the tracking taken', async () => {
  kit.fault({ status: 503, retryAfter: 2 });
  await control(sandbox.origin, '/_sandbox/faults', [{ status: 503, retryAfter: 2 }]);
  const request = ['faulted', 'POST', body({ customerId: 'c-3' }), { origin: ORIGIN }];
  for (const base of [kit.baseUrl, sandbox.origin]) {
    const first = await fetch(base + '/api/SaasTrackings', { method: 'POST', body: request[2], headers: request[3] });
    assert.equal(first.status, 503, base);
    assert.equal(first.headers.get('retry-after'), '2', base);
    assert.equal((await first.json()).error.code, 'sandbox_fault');
    assert.equal((await seen(base, request)).status, 201, base);
  }
  assert.equal((await kit.waitForTracking({ customerId: 'c-3' })).deliveries, 1);
  assert.ok(kit.rejected().some((r) => r.code === 'missing_field'));
});
