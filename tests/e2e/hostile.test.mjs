// The bad-input matrix of the README ("Errors"), in Chromium, through the
// pasted snippet and through the npm entry: every case rejects with a stable
// code and field and a readable message, nothing is sent, a tracking already
// waiting in the queue is kept, the page sees no uncaught error and no console
// error from the pixel, and a good tracking still goes through afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openPage, root, uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests();


/**
 * Runs in the page: `send` is the entry under test. Returns, per case, its
 * label, what the call settled to and whether the error was well formed.
 * Built here, in the page, because Symbols, BigInts, Proxies and getters
 * cannot cross from the test.
 */
async function runMatrix(mode) {
  const send =
    mode === 'snippet'
      ? (...args) => window.onramp('createSaasTracking', ...args)
      : (...args) => window.pixel.createSaasTracking(...args);
  const ok = { serviceName: 'svc', customerId: 'c-bad' };
  const w = (patch) => ({ ...ok, ...patch });
  const inTwoDays = Date.now() + 2 * 86_400_000;
  const cases = [
    ['no arguments', [], 'missing_field', 'serviceName'],
    ['positional, partner key only', ['pk'], 'missing_field', 'serviceName'],
    ['undefined', [w({ customerId: undefined })], 'missing_field', 'customerId'],
    ['null', [w({ customerId: null })], 'missing_field', 'customerId'],
    ['positional null', ['pk', 'svc', null], 'missing_field', 'customerId'],
    ['number', [w({ customerId: 42 })], 'invalid_type', 'customerId'],
    ['boolean', [w({ serviceName: true })], 'invalid_type', 'serviceName'],
    ['array', [w({ customerId: ['c'] })], 'invalid_type', 'customerId'],
    ['object', [w({ customerId: { toString: () => 'c' } })], 'invalid_type', 'customerId'],
    ['Symbol', [w({ customerId: Symbol('c') })], 'invalid_type', 'customerId'],
    ['BigInt', [w({ customerId: 10n })], 'invalid_type', 'customerId'],
    ['function', [w({ serviceName: () => 'svc' })], 'invalid_type', 'serviceName'],
    ['positional number', [42, 'svc', 'c'], 'invalid_type', 'partnerKey'],
    ['positional Symbol', ['pk', Symbol('s'), 'c'], 'invalid_type', 'serviceName'],
    ['positional BigInt', ['pk', 'svc', 1n], 'invalid_type', 'customerId'],
    ['empty string', [w({ customerId: '' })], 'empty_field', 'customerId'],
    ['whitespace only', [w({ serviceName: '   ' })], 'empty_field', 'serviceName'],
    ['1 MB string', [w({ customerId: 'x'.repeat(1 << 20) })], 'too_long', 'customerId'],
    ['513 characters', [w({ customerId: 'é'.repeat(513) })], 'too_long', 'customerId'],
    ['NUL', [w({ customerId: 'a\u0000b' })], 'invalid_characters', 'customerId'],
    ['newline', [w({ serviceName: 'a\nb' })], 'invalid_characters', 'serviceName'],
    ['C1 control', [w({ customerId: 'a\u0085b' })], 'invalid_characters', 'customerId'],
    ['lone surrogate', [w({ customerId: 'a\ud800b' })], 'invalid_characters', 'customerId'],
    ['lone low surrogate', [w({ partnerKey: '\udc00' })], 'invalid_characters', 'partnerKey'],
    ['date 2026-13-45', [w({ purchasedAt: '2026-13-45' })], 'invalid_date', 'purchasedAt'],
    ['date "not a date"', [w({ purchasedAt: 'not a date' })], 'invalid_date', 'purchasedAt'],
    ['date without a zone', [w({ purchasedAt: '2026-11-26T10:00:00' })], 'invalid_date', 'purchasedAt'],
    ['NaN', [w({ purchasedAt: NaN })], 'invalid_date', 'purchasedAt'],
    ['Infinity', [w({ purchasedAt: Infinity })], 'invalid_date', 'purchasedAt'],
    ['Invalid Date', [w({ purchasedAt: new Date('x') })], 'invalid_date', 'purchasedAt'],
    ['before 2000', [w({ purchasedAt: '1999-12-31' })], 'date_out_of_range', 'purchasedAt'],
    ['two days ahead', [w({ purchasedAt: inTwoDays })], 'date_out_of_range', 'purchasedAt'],
    ['date of the wrong type', [w({ purchasedAt: true })], 'invalid_type', 'purchasedAt'],
    ['relative base URL', [w({ baseUrl: '/api' })], 'invalid_base_url', 'baseUrl'],
    ['javascript: base URL', [w({ baseUrl: 'javascript:alert(1)' })], 'invalid_base_url', 'baseUrl'],
    ['data: base URL', [w({ baseUrl: 'data:text/plain,x' })], 'invalid_base_url', 'baseUrl'],
    ['ftp: base URL', [w({ baseUrl: 'ftp://onramp.example.com' })], 'invalid_base_url', 'baseUrl'],
    ['plain http to a public host', [w({ baseUrl: 'http://onramp.example.com' })], 'insecure_base_url', 'baseUrl'],
    ['credentials in the base URL', [w({ baseUrl: 'https://user:pw@onramp.example.com' })], 'invalid_base_url', 'baseUrl'],
    ['query in the base URL', [w({ baseUrl: 'https://onramp.example.com/?a=1' })], 'invalid_base_url', 'baseUrl'],
    ['base URL of the wrong type', [w({ baseUrl: 42 })], 'invalid_type', 'baseUrl'],
    ['unknown option', [w({ custmerId: 'c' })], 'unknown_option', 'custmerId'],
    ['option in the wrong case', [w({ CustomerId: 'c' })], 'unknown_option', 'CustomerId'],
    ['unknown transport', [w({ transport: 'pigeon' })], 'invalid_option', 'transport'],
    ['negative timeout', [w({ timeoutMs: -1 })], 'invalid_option', 'timeoutMs'],
    ['timeout as text', [w({ timeoutMs: '5000' })], 'invalid_type', 'timeoutMs'],
    [
      'options whose keys throw',
      [new Proxy({}, { ownKeys() { throw new Error('boom'); } })],
      'invalid_type',
      'options',
    ],
    [
      'options whose getter throws',
      [{ serviceName: 'svc', get customerId() { throw new Error('boom'); } }],
      'invalid_type',
      'options',
    ],
  ];
  const out = [];
  for (const [label, args, code, field] of cases) {
    const got = await send(...args).then(
      () => ({ settled: 'resolved' }),
      (e) => ({
        settled: 'rejected',
        name: e && e.name,
        code: e && e.code,
        field: e && e.field,
        isError: e instanceof Error,
        readable: typeof (e && e.message) === 'string' && e.message.length >= 10 && !/panic|unreachable|RuntimeError/i.test(e.message),
      }),
    );
    out.push({ label, expected: { code, field }, got });
  }
  return out;
}

/** One good tracking through the entry under test; resolves its result. */
function track(page, mode, customerId) {
  return page.evaluate(
    ([mode, customerId]) =>
      mode === 'snippet'
        ? window.onramp('createSaasTracking', { serviceName: 'svc', customerId })
        : window.pixel.createSaasTracking({ serviceName: 'svc', customerId }),
    [mode, customerId],
  );
}

async function checkMatrix(page, problems, mode) {
  // A tracking that waits in the queue (the collector answered 503) must
  // survive everything below.
  const waiting = uniqueId(`${mode}-waiting`);
  // Retry-After holds it back for an hour, so only flush() sends it below.
  await world.sandbox.faults([{ status: 503, times: 1, retryAfter: 3600 }]);
  assert.equal((await track(page, mode, waiting)).queued, true, 'the 503 left the tracking queued');
  const storedBefore = (await world.sandbox.trackings()).length;
  const attemptsBefore = (await world.sandbox.attempts()).length;

  const results = await page.evaluate(runMatrix, mode);
  for (const { label, expected, got } of results) {
    assert.deepEqual(
      got,
      { settled: 'rejected', name: 'OnrampError', code: expected.code, field: expected.field, isError: true, readable: true },
      `${mode}: ${label}`,
    );
  }
  assert.equal(results.length, 48);

  await page.waitForTimeout(200);
  assert.equal((await world.sandbox.attempts()).length, attemptsBefore, `${mode}: no bad call reached the collector`);
  assert.equal((await world.sandbox.trackings()).length, storedBefore, `${mode}: nothing was stored`);
  // One record per tracking, under the tracking's id (which ends with its customerId).
  const record = await page.evaluate(
    (waiting) => Object.keys(localStorage).find((key) => key.startsWith('onramp-pixel:v2:') && key.endsWith(waiting)),
    waiting,
  );
  assert.ok(record, `${mode}: the waiting tracking is still queued`);

  // The module is alive: a good tracking goes through, and flush() sends the waiting one.
  assert.equal((await track(page, mode, uniqueId(`${mode}-good`))).status, 201);
  const flushed = await page.evaluate((mode) => (mode === 'snippet' ? window.onramp('flush') : window.pixel.flush()), mode);
  assert.equal(flushed.sent, 1);
  assert.equal((await world.sandbox.find(waiting)).length, 1);
  // The collector's 503 is logged by Chromium itself; nothing else may be.
  assert.deepEqual(
    problems.filter((p) => !/Failed to load resource: the server responded with a status of 503/.test(p)),
    [],
  );
}

test('bad input through the snippet: typed rejections, nothing sent, nothing queued lost', async () => {
  const { context, page, problems } = await openPage(world.browser);
  await page.goto(world.pages.origin + '/snippet.html');
  await page.evaluate(() => window.onramp('configure', {}));
  await checkMatrix(page, problems, 'snippet');
  await context.close();
});

test('bad input through the npm entry: typed rejections, nothing sent, nothing queued lost', async () => {
  const { context, page, problems } = await openPage(world.browser);
  await page.goto(world.pages.origin + '/npm.html');
  await page.waitForFunction(() => window.pixel);
  await page.evaluate(() => window.pixel.configure({ baseUrl: window.collector, partnerKey: 'pk_npm' }));
  await checkMatrix(page, problems, 'npm');
  await context.close();
});

test('the README lists every error code, as the types and the core define them', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const errors = readme.slice(readme.indexOf('### Errors'), readme.indexOf('\n## ', readme.indexOf('### Errors')));
  const listed = new Set([...errors.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]));
  const types = await readFile(join(root, 'www/index.d.ts'), 'utf8');
  const union = types.slice(types.indexOf('export type OnrampErrorCode'));
  const typed = new Set([...union.slice(0, union.indexOf(';')).matchAll(/'([a-z_]+)'/g)].map((m) => m[1]));
  assert.deepEqual([...listed].sort(), [...typed].sort());
  const source = await readFile(join(root, 'src/error.rs'), 'utf8');
  const core = source.slice(source.indexOf('const CODES'), source.indexOf('];', source.indexOf('const CODES')));
  const coded = [...core.matchAll(/^\s*"([a-z_]+)",$/gm)].map((m) => m[1]);
  assert.ok(coded.length >= 15, 'found the core codes');
  for (const code of coded) assert.ok(listed.has(code), `the README lists ${code}`);
  for (const file of ['www/index.js', 'www/loader.js']) {
    const js = await readFile(join(root, file), 'utf8');
    for (const [, code] of js.matchAll(/(?:onrampError|fail)\('([a-z_]+)'/g)) assert.ok(listed.has(code), `the README lists ${code}`);
  }
});
