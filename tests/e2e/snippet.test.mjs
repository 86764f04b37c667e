// The pasted snippet in real Chromium: page on one loopback origin, loader
// and collector (the sandbox) on another.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPage, root, uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests();

/** Opens the snippet page and waits until the loader has replaced the stub and the wasm is ready. */
async function readySnippetPage(query = '') {
  const opened = await openPage(world.browser);
  await opened.page.goto(world.pages.origin + '/snippet.html' + query);
  await opened.page.evaluate(() => onramp('configure', {}));
  return opened;
}

test('the pages under test and the demo use the stub line the README tells providers to paste', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const stub = readme.split('\n').find((line) => line.startsWith('<script>window.onramp'));
  assert.ok(stub, 'the README shows the stub');
  const built = await readFile(join(root, 'dist/stub.js'), 'utf8');
  assert.equal(stub, `<script>${built}</script>`, 'the README shows www/stub.js as the build minifies it');
  for (const page of ['tests/e2e/pages/snippet.html', 'tests/e2e/pages/twice.html', 'tests/e2e/pages/leave.html', 'www/demo.html']) {
    assert.ok((await readFile(join(root, page), 'utf8')).includes(stub), page);
  }
});

test("the README's preload line: the loader takes the preloaded .wasm, so the page requests it once, and the console stays clean", async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  assert.match(readme, /<link rel="preload" href="https:\/\/YOUR-CDN\/onramp-pixel\/onramp_pixel_bg\.wasm" as="fetch" crossorigin="anonymous">/);
  const page = await readFile(join(root, 'tests/e2e/pages/snippet.html'), 'utf8');
  assert.ok(page.includes('<link rel="preload" href="{{COLLECTOR}}/onramp_pixel_bg.wasm" as="fetch" crossorigin="anonymous">'));
  const { context, page: tab, problems } = await openPage(world.browser);
  // Every console message from the first byte: a preload with `integrity`
  // made Chromium warn on every page load.
  const messages = [];
  tab.on('console', (message) => messages.push(`${message.type()}: ${message.text()}`));
  await tab.goto(world.pages.origin + '/snippet.html');
  await tab.evaluate(() => onramp('configure', {}));
  try {
    const requests = await tab.evaluate(() =>
      performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/onramp_pixel_bg.wasm')).length,
    );
    assert.equal(requests, 1, 'one request for the .wasm');
    assert.deepEqual(problems, []);
    assert.deepEqual(messages, [], 'the console stays clean');
  } finally {
    await context.close();
  }
});

test('the page and the collector are on different origins', () => {
  assert.notEqual(new URL(world.pages.origin).origin, new URL(world.sandbox.origin).origin);
});

test('options form with a callback: sent, stored, and the callback gets the result', async () => {
  const { context, page, problems } = await readySnippetPage();
  const id = uniqueId('snippet-options');
  const [error, result] = await page.evaluate(
    (id) =>
      new Promise((resolve) =>
        onramp('createSaasTracking', { serviceName: 'Acme CRM', customerId: id, purchasedAt: '2026-11-26T19:43:01+01:00' }, (e, r) =>
          resolve([e, r]),
        ),
      ),
    id,
  );
  assert.equal(error, null);
  assert.equal(result.ok, true);
  assert.equal(result.status, 201);
  assert.equal(result.transport, 'fetch');
  assert.deepEqual(result.tracking, {
    partnerKey: 'pk_snippet',
    serviceName: 'Acme CRM',
    customerId: id,
    purchasedAt: '2026-11-26T18:43:01.000Z',
  });
  const stored = await world.sandbox.find(id);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].partnerKey, 'pk_snippet');
  assert.equal(stored[0].purchasedAt, '2026-11-26T18:43:01.000Z');
  assert.equal(stored[0].deliveries, 1);
  assert.deepEqual(problems, []);
  await context.close();
});

test('positional form, as the original script took it; the returned Promise resolves too', async () => {
  const { context, page, problems } = await readySnippetPage();
  const id = uniqueId('snippet-positional');
  const result = await page.evaluate((id) => onramp('createSaasTracking', 'pk_positional', 'svc', id, '2026-11-25'), id);
  assert.equal(result.status, 201);
  const stored = await world.sandbox.find(id);
  assert.deepEqual(
    stored.map((s) => [s.partnerKey, s.serviceName, s.purchasedAt]),
    [['pk_positional', 'svc', '2026-11-25T00:00:00.000Z']],
  );
  assert.deepEqual(problems, []);
  await context.close();
});

test('calls made before the loader arrived are replayed in order', async () => {
  const { context, page, problems } = await openPage(world.browser);
  const id = uniqueId('snippet-queued');
  await page.goto(world.pages.origin + '/snippet.html?queued=' + id);
  await page.waitForFunction(() => window.results.length === 2);
  const results = await page.evaluate(() => window.results.slice().sort());
  // 'a' was queued before the configure call and 'b' after it: order kept.
  assert.deepEqual(results, [
    ['a', null, 'pk_snippet'],
    ['b', null, 'pk_second'],
  ]);
  for (const [suffix, key] of [['a', 'pk_snippet'], ['b', 'pk_second'], ['c', 'pk_third']]) {
    const stored = await world.sandbox.waitFor(`${id}-${suffix}`);
    assert.equal(stored.length, 1, suffix);
    assert.equal(stored[0].partnerKey, key);
  }
  assert.deepEqual(problems, []);
  await context.close();
});

test('the snippet and loader included twice send once', async () => {
  const { context, page, problems } = await openPage(world.browser);
  const id = uniqueId('snippet-twice');
  await page.goto(world.pages.origin + '/twice.html?id=' + id);
  const stored = await world.sandbox.waitFor(id);
  await page.evaluate(() => onramp('configure', {}));
  await page.waitForTimeout(300);
  const again = await world.sandbox.find(id);
  assert.equal(stored.length, 1);
  assert.equal(again[0].deliveries, 1);
  assert.equal(await page.evaluate(() => document.querySelectorAll('script[src$="loader.js"]').length), 2);
  assert.deepEqual(problems, []);
  await context.close();
});

test('navigation away in the same task as the call: every tracking arrives once', async () => {
  const runs = 20;
  const ids = [];
  for (let i = 0; i < runs; i++) {
    const { context, page } = await readySnippetPage();
    const id = uniqueId('snippet-nav-' + i);
    ids.push(id);
    await page
      .evaluate(
        ([id, next]) => {
          onramp('createSaasTracking', { serviceName: 'svc', customerId: id });
          location.href = next;
        },
        [id, world.pages.origin + '/next.html'],
      )
      .catch(() => {}); // the navigation may tear down the evaluation's context
    await page.waitForURL('**/next.html');
    // Wait for arrival before closing: closing the context cancels keepalive requests in flight.
    const stored = await world.sandbox.waitFor(id);
    await context.close();
    assert.equal(stored.length, 1, `run ${i}: stored once`);
    assert.equal(stored[0].deliveries, 1, `run ${i}: delivered once`);
  }
  assert.equal(ids.length, runs);
});

test('a beacon (data-transport="beacon") crosses origins and arrives', async () => {
  const { context, page, problems } = await openPage(world.browser);
  await page.goto(world.pages.origin + '/beacon.html');
  const id = uniqueId('snippet-beacon');
  const result = await page.evaluate((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }), id);
  await page.goto(world.pages.origin + '/next.html');
  assert.equal(result.transport, 'beacon');
  assert.equal(result.status, null);
  const stored = await world.sandbox.waitFor(id);
  await context.close();
  assert.equal(stored.length, 1);
  assert.equal(stored[0].partnerKey, 'pk_beacon');
  assert.deepEqual(problems, []);
});

test('bad input is rejected with code and field, nothing is sent, and the page keeps working', async () => {
  const { context, page, problems } = await readySnippetPage();
  const before = (await world.sandbox.trackings()).length;
  const outcomes = await page.evaluate(async () => {
    const cases = [
      [{ serviceName: 'svc' }],
      [{ serviceName: 'svc', customerId: 42 }],
      [{ serviceName: 'svc', customerId: 'c', custmerId: 'typo' }],
      [{ serviceName: '   ', customerId: 'c' }],
      [{ serviceName: 'svc', customerId: 'c', purchasedAt: 'not a date' }],
      [{ serviceName: 'svc', customerId: 'c', purchasedAt: '2026-13-45' }],
      [{ serviceName: 'svc', customerId: 'c', purchasedAt: Symbol('x') }],
      [{ serviceName: 'svc', customerId: 'c', baseUrl: 'http://onramp.example.com' }],
      [{ serviceName: 'svc', customerId: 'c', baseUrl: 'https://user:pw@onramp.example.com' }],
      [{ serviceName: 'svc', customerId: 'x'.repeat(1 << 20) }],
      ['pk', 'svc', 'a\u0000b'],
    ];
    const out = [];
    for (const args of cases) {
      out.push(
        await new Promise((resolve) =>
          onramp('createSaasTracking', ...args, (error, result) => resolve(error ? [error.name, error.code, error.field] : ['resolved', result.status])),
        ),
      );
    }
    // Without a callback the Promise still rejects (and is never an unhandled rejection).
    out.push(await onramp('createSaasTracking', { serviceName: 'svc' }).then(() => 'resolved', (e) => e.code));
    out.push(await onramp('noSuchCommand').then(() => 'resolved', (e) => e.code));
    return out;
  });
  assert.deepEqual(outcomes, [
    ['OnrampError', 'missing_field', 'customerId'],
    ['OnrampError', 'invalid_type', 'customerId'],
    ['OnrampError', 'unknown_option', 'custmerId'],
    ['OnrampError', 'empty_field', 'serviceName'],
    ['OnrampError', 'invalid_date', 'purchasedAt'],
    ['OnrampError', 'invalid_date', 'purchasedAt'],
    ['OnrampError', 'invalid_type', 'purchasedAt'],
    ['OnrampError', 'insecure_base_url', 'baseUrl'],
    ['OnrampError', 'invalid_base_url', 'baseUrl'],
    ['OnrampError', 'too_long', 'customerId'],
    ['OnrampError', 'invalid_characters', 'customerId'],
    'missing_field',
    'unknown_command',
  ]);
  await page.waitForTimeout(200);
  assert.equal((await world.sandbox.trackings()).length, before, 'nothing was sent');
  // The module is still alive: a good call after all of that works.
  const id = uniqueId('snippet-after-bad');
  const result = await page.evaluate((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }), id);
  assert.equal(result.status, 201);
  assert.deepEqual(problems, []);
  await context.close();
});
