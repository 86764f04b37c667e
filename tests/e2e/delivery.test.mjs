// Delivery guarantees in Chromium against the sandbox on another loopback
// origin: retries, backoff, Retry-After, timeouts, offline, the reload
// guard, two tabs. Every test counts what the collector stored.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPage, uniqueId, worldForTests } from './helpers.mjs';

const world = worldForTests({ fileDb: true });

const faults = (list) => world.sandbox.faults(list);
const attempts = async (id) => (await world.sandbox.attempts()).filter((a) => a.customerId === id);
const confirmation = (id, extra = '') => `${world.pages.origin}/queue.html?id=${encodeURIComponent(id)}${extra}`;

async function firstResult(page) {
  await page.waitForFunction(() => window.results.length > 0, null, { timeout: 20_000 });
  return page.evaluate(() => window.results[0]);
}

test('collector down at the call and when the page leaves, up at the next page load: delivered once', async () => {
  const id = uniqueId('down-up');
  const { context, page, problems } = await openPage(world.browser);
  await world.sandbox.stop();
  // A short timeout, so that the lease an attempt takes is short (timeout + 2 s).
  await page.goto(confirmation(id, '&timeout=2000'));
  const result = await firstResult(page);
  assert.deepEqual([result.ok, result.queued, result.error], [false, true, 'network_error']);
  // Past the first backoff step (at most 1 s): the page's timer or its
  // pagehide flush tries again and fails too; a request that dies with the
  // page leaves its lease behind.
  await page.waitForTimeout(1_100);
  await page.goto(world.pages.origin + '/next.html');
  world.sandbox = await world.sandbox.start();
  // The next page of the site carries the loader but makes no call: it sends
  // the tracking on load, or with its timer once a dead page's lease is over.
  await page.goto(`${world.pages.origin}/queue.html`);
  const stored = await world.sandbox.waitFor(id, 15_000);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].deliveries, 1);
  assert.deepEqual(problems.filter((p) => !p.includes('net::ERR_CONNECTION_REFUSED') && !p.includes('Failed to load resource')), []);
  await context.close();
});

test('503 twice then 201: retried with backoff on the same page, delivered once', async () => {
  const id = uniqueId('503x2');
  await faults([{ status: 503, times: 2 }]);
  const { context, page } = await openPage(world.browser);
  await page.goto(confirmation(id));
  const result = await firstResult(page);
  assert.deepEqual([result.ok, result.queued, result.status], [false, true, 503]);
  assert.ok(result.retryAt, 'says when it retries');
  const stored = await world.sandbox.waitFor(id, 15_000);
  await context.close();
  assert.equal(stored.length, 1);
  assert.equal(stored[0].deliveries, 1);
  assert.deepEqual((await attempts(id)).map((a) => a.status), [503, 503, 201]);
});

// One failure with this status and Retry-After, then success: the second
// attempt must come at least `gap` ms after the first (the first backoff
// alone is at most 1 s).
async function waitsForRetryAfter(name, status, retryAfter, gap) {
  const id = uniqueId(name);
  await faults([{ status, retryAfter }]);
  const { context, page } = await openPage(world.browser);
  await page.goto(confirmation(id));
  const result = await firstResult(page);
  assert.deepEqual([result.queued, result.status], [true, status]);
  const stored = await world.sandbox.waitFor(id, 15_000);
  await context.close();
  assert.equal(stored[0].deliveries, 1);
  const [first, second] = await attempts(id);
  assert.deepEqual([first.status, second.status], [status, 201]);
  assert.ok(Date.parse(second.at) - Date.parse(first.at) >= gap, `${first.at} → ${second.at}`);
}

test('429 with Retry-After in seconds: the next attempt waits at least that long', () =>
  waitsForRetryAfter('429', 429, 2, 1_900));

test('503 with Retry-After as an HTTP date: the next attempt waits for it', () =>
  // IMF-fixdate, whole seconds: between 3 and 4 s from now.
  waitsForRetryAfter('retry-date', 503, new Date(Date.now() + 4_000).toUTCString(), 2_000));

test('a hung collector: the attempt times out, the retry delivers once', async () => {
  const id = uniqueId('hung');
  await faults([{ delayMs: 4_000, status: 503 }]);
  const { context, page } = await openPage(world.browser);
  await page.goto(confirmation(id, '&timeout=500'));
  const result = await firstResult(page);
  assert.deepEqual([result.queued, result.error], [true, 'timeout']);
  const stored = await world.sandbox.waitFor(id, 15_000);
  await context.close();
  assert.equal(stored.length, 1);
  assert.equal(stored[0].deliveries, 1);
});

test("a call for a tracking in flight does not put off another tracking's retry", async () => {
  const retried = uniqueId('retried');
  const out = uniqueId('out');
  // The first tracking is refused for 3 s; the second one's request then
  // hangs for 20 s (lease: its timeout + 2 s).
  await faults([
    { status: 503, retryAfter: 3 },
    { delayMs: 20_000, status: 503 },
  ]);
  const { context, page } = await openPage(world.browser);
  await page.goto(confirmation(retried));
  const result = await firstResult(page);
  assert.deepEqual([result.queued, result.status], [true, 503]);
  const call = (id) => page.evaluate((id) => void onramp('createSaasTracking', { serviceName: 'svc', customerId: id }), id);
  await call(out);
  await page.waitForTimeout(500);
  // Called again while its request is out: the call waits for that attempt,
  // and the timer stays set for the first tracking's retry.
  await call(out);
  const stored = await world.sandbox.waitFor(retried, 15_000);
  const outAttempts = await attempts(out);
  await context.close();
  assert.equal(stored.length, 1, 'the first tracking was retried while the other request was out');
  assert.deepEqual(outAttempts, [], 'the other request was still out');
  assert.deepEqual((await attempts(retried)).map((a) => a.status), [503, 201]);
});

test('offline: queued, then sent when the browser is back online', async () => {
  const id = uniqueId('offline');
  const { context, page } = await openPage(world.browser);
  await page.goto(world.pages.origin + '/queue.html');
  // A call loads the pixel (a page without one loads none).
  await page.evaluate(() => onramp('flush'));
  await context.setOffline(true);
  await page.evaluate((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }, (e, r) => results.push({ queued: r.queued, error: r.error && r.error.code })), id);
  assert.deepEqual(await firstResult(page), { queued: true, error: 'network_error' });
  assert.deepEqual(await world.sandbox.find(id), []);
  await context.setOffline(false);
  const stored = await world.sandbox.waitFor(id, 15_000);
  await context.close();
  assert.equal(stored.length, 1);
  assert.equal(stored[0].deliveries, 1);
});

test('a permanent refusal (422) rejects and is never retried', async () => {
  const id = uniqueId('422');
  await faults([{ status: 422 }]);
  const { context, page } = await openPage(world.browser);
  await page.goto(confirmation(id));
  assert.deepEqual(await firstResult(page), { rejected: 'rejected', status: 422 });
  const waiting = await page.evaluate(() => onramp('flush'));
  assert.deepEqual(waiting, { sent: 0, waiting: 0 });
  await context.close();
  assert.deepEqual((await attempts(id)).map((a) => a.status), [422]);
  assert.deepEqual(await world.sandbox.find(id), []);
});

test("onramp('flush') forces a retry before the backoff is over", async () => {
  const id = uniqueId('flush');
  await faults([{ status: 503, retryAfter: 600 }]);
  const { context, page } = await openPage(world.browser);
  await page.goto(confirmation(id));
  assert.equal((await firstResult(page)).status, 503);
  const flushed = await page.evaluate(() => onramp('flush'));
  assert.deepEqual(flushed, { sent: 1, waiting: 0 });
  await context.close();
  const stored = await world.sandbox.find(id);
  assert.equal(stored[0].deliveries, 1);
});

test('reloading the confirmation page three times: stored once, delivered once', async () => {
  const id = uniqueId('reload');
  const { context, page } = await openPage(world.browser);
  await page.goto(confirmation(id));
  assert.equal((await firstResult(page)).status, 201);
  for (let i = 0; i < 3; i++) {
    await page.reload();
    const again = await firstResult(page);
    assert.deepEqual([again.ok, again.alreadySent, again.status], [true, true, null], `reload ${i + 1}`);
  }
  await context.close();
  const stored = await world.sandbox.find(id);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].deliveries, 1);
  assert.equal((await attempts(id)).length, 1);
});

test('two tabs calling at once: stored once, sent by exactly one of them', async (t) => {
  const pairs = 10;
  let extra = 0;
  for (let n = 0; n < pairs; n++) {
    const id = uniqueId('two-tabs-' + n);
    const context = await world.browser.newContext();
    const [a, b] = [await context.newPage(), await context.newPage()];
    for (const page of [a, b]) {
      await page.goto(world.pages.origin + '/queue.html');
      await page.evaluate(() => onramp('configure', {}));
    }
    const call = (page) =>
      page.evaluate((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id }).then((r) => [r.ok, r.queued]), id);
    const outcomes = await Promise.all([call(a), call(b)]);
    // One tab had it accepted; the other found it accepted (or in flight) and did not send it.
    for (const [ok, queued] of outcomes) assert.ok(ok !== queued);
    assert.ok(outcomes.some(([ok]) => ok), 'one of them had it accepted');
    const stored = await world.sandbox.waitFor(id);
    await context.close();
    assert.equal(stored.length, 1);
    extra += stored[0].deliveries - 1;
  }
  t.diagnostic(`duplicate deliveries in ${pairs} two-tab pairs: ${extra}`);
  // The tracking's Web Lock and the accepted set in IndexedDB let only one tab send it.
  assert.equal(extra, 0);
});

test('without Web Locks, or with a lock request refused, a tracking is still sent once', async () => {
  for (const [name, init] of [
    ['no-locks', () => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined })],
    ['refused', () => (LockManager.prototype.request = () => Promise.reject(new DOMException('refused', 'SecurityError')))],
  ]) {
    const id = uniqueId('locks-' + name);
    const context = await world.browser.newContext();
    await context.addInitScript(init);
    const page = await context.newPage();
    await page.goto(confirmation(id));
    const result = await firstResult(page);
    await context.close();
    assert.deepEqual([result.ok, result.status], [true, 201], name);
    const stored = await world.sandbox.find(id);
    assert.equal(stored.length, 1, name);
    assert.equal(stored[0].deliveries, 1, name);
  }
});

test('storage refuses the queue (full or disabled): the call says persisted: false and warns once', async () => {
  const id = uniqueId('storage-full');
  const { context, page } = await openPage(world.browser);
  await context.addInitScript(() => {
    Storage.prototype.setItem = () => {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    };
  });
  const warnings = [];
  page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  await faults([{ status: 503, times: 2 }]);
  await page.goto(confirmation(id));
  const result = await firstResult(page);
  assert.deepEqual([result.ok, result.queued, result.persisted], [false, true, false]);
  // A second call on the same page: the same answer, no second warning.
  await page.evaluate((id) => onramp('createSaasTracking', { serviceName: 'svc', customerId: id + '-2' }), id);
  assert.equal(warnings.filter((w) => w.includes('cannot be stored')).length, 1, warnings.join('\n'));
  // Where storage works, the result says nothing of it.
  const { context: other, page: stored } = await openPage(world.browser);
  await stored.goto(confirmation(id + '-ok'));
  assert.equal((await firstResult(stored)).persisted, undefined);
  await other.close();
  await context.close();
});

test('two tabs queueing 4 trackings each at the same moment, collector down: all 8 delivered once it is back', async () => {
  const prefix = uniqueId('tabs-queue');
  const context = await world.browser.newContext();
  const tabs = [await context.newPage(), await context.newPage()];
  for (const tab of tabs) await tab.goto(`${world.pages.origin}/queue.html`);
  await Promise.all(tabs.map((tab) => tab.evaluate(() => onramp('flush'))));
  await world.sandbox.stop();
  const queue = (tab, t) =>
    tab.evaluate(
      ([prefix, t]) =>
        Promise.all(
          [0, 1, 2, 3].map((i) =>
            onramp('createSaasTracking', { serviceName: 'svc', customerId: `${prefix}-${t}-${i}`, timeoutMs: 2000 }),
          ),
        ),
      [prefix, t],
    );
  const results = (await Promise.all(tabs.map((tab, t) => queue(tab, t)))).flat();
  assert.deepEqual(
    results.map((r) => r.queued),
    Array(8).fill(true),
  );
  world.sandbox = await world.sandbox.start();
  await tabs[0].evaluate(() => onramp('flush'));
  for (const t of [0, 1]) {
    for (const i of [0, 1, 2, 3]) {
      const stored = await world.sandbox.waitFor(`${prefix}-${t}-${i}`, 15_000);
      assert.equal(stored.length, 1, `${prefix}-${t}-${i}`);
      assert.equal(stored[0].deliveries, 1);
    }
  }
  await context.close();
});

test('a chain of pages with the pixel: no page resends an attempt still in flight before its lease ends', async () => {
  const id = uniqueId('lease-chain');
  // The first attempt hangs for 4 s (its lease, timeout + 2 s, is 62 s).
  await faults([{ delayMs: 4_000, status: 503 }]);
  const { context, page } = await openPage(world.browser);
  await page.goto(confirmation(id));
  await page.waitForFunction(() => window.onramp.loaded);
  await page.waitForTimeout(300);
  // Three more pages of the site, each with the pixel, while it hangs.
  for (let n = 0; n < 3; n++) {
    await page.goto(`${world.pages.origin}/queue.html`);
    await page.waitForTimeout(700);
  }
  assert.equal((await attempts(id)).length, 1, 'one attempt, in flight until its lease ends');
  await context.close();
});

test('without Web Locks, two tabs calling the same 10 trackings at once: each sent once (a lease in IndexedDB)', async () => {
  const prefix = uniqueId('no-locks-tabs');
  const ids = [...Array(10).keys()].map((i) => `${prefix}-${i}`);
  const context = await world.browser.newContext();
  await context.addInitScript(() => Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined }));
  const tabs = [await context.newPage(), await context.newPage()];
  for (const tab of tabs) {
    await tab.goto(`${world.pages.origin}/queue.html`);
    await tab.evaluate(() => onramp('configure', {}));
  }
  const call = (tab) =>
    tab.evaluate((ids) => Promise.all(ids.map((customerId) => onramp('createSaasTracking', { serviceName: 'svc', customerId }))), ids);
  await Promise.all(tabs.map(call));
  for (const id of ids) assert.equal((await world.sandbox.waitFor(id)).length, 1, id);
  // Whatever either tab's timer would retry has had its time.
  await tabs[0].waitForTimeout(1_500);
  const posts = (await world.sandbox.attempts()).filter((a) => a.customerId.startsWith(prefix));
  await context.close();
  assert.equal(posts.length, ids.length, 'one POST per tracking');
});
