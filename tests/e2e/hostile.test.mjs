// The bad-input matrix of the README ("Errors"), in Chromium, through the
// pasted snippet and through the npm entry: every case rejects with a stable
// code and field and a readable message, nothing is sent, a tracking already
// waiting in the queue is kept, the page sees no uncaught error and no console
// error from the pixel, and a good tracking still goes through afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runMatrix } from './matrix.mjs';
import { docText, openPage, root, uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests();


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
  assert.ok(docText('docs/api.md').includes(`hostile.test.mjs\`, ${results.length} cases`), 'docs/api.md gives the number of cases');

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
  const readme = docText('docs/api.md');
  const errors = readme.slice(readme.indexOf('### Errors'));
  const listed = new Set([...errors.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]));
  const types = await readFile(join(root, 'www/index.d.ts'), 'utf8');
  const union = types.slice(types.indexOf('export type OnrampErrorCode'));
  const typed = new Set([...union.slice(0, union.indexOf(';')).matchAll(/'([a-z_]+)'/g)].map((m) => m[1]));
  assert.deepEqual([...listed].sort(), [...typed].sort());
  // The core's codes, as the build generates them (www/rules.js).
  const { ERROR_CODES } = await import('../../www/rules.js');
  assert.ok(ERROR_CODES.length >= 15, 'found the core codes');
  for (const code of ERROR_CODES) assert.ok(listed.has(code), `the README lists ${code}`);
  for (const file of ['www/index.js', 'www/loader.js', 'www/pixel.js', 'www/consent.js']) {
    const js = await readFile(join(root, file), 'utf8');
    for (const [, code] of js.matchAll(/(?:onrampError|fail)\('([a-z_]+)'/g)) assert.ok(listed.has(code), `the README lists ${code}`);
  }
});
